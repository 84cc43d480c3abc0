"""Measures, against a running `causalrec run` on a real broker, what hostile input does:

  ids       RSS and rows after impressions naming 1M distinct item ids (defaults: row limits)
  future    8 impressions of Z stamped +23 h between normal traffic: a cold user's first item, alice's ranking
  trickle   /health and /ready while N connections each send one header line every 4 s

Needs `pip install confluent-kafka`. Usage: measure.py <scenario> --brokers H:P --pid PID [--http 127.0.0.1:9464]
"""
import argparse, json, socket, sys, time, urllib.request
from confluent_kafka import Producer, Consumer


def rss(pid):
    fields = dict(line.split(":", 1) for line in open(f"/proc/{pid}/status"))
    return {k: int(fields[k].split()[0]) // 1024 for k in ("VmRSS", "VmHWM")}


def get(http, path):
    try:
        with urllib.request.urlopen(f"http://{http}{path}", timeout=5) as reply:
            return reply.status, reply.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()
    except Exception as error:  # refused, reset, timed out
        return None, repr(error)


def metric(http, name):
    _, text = get(http, "/metrics")
    return [line for line in text.splitlines() if line.startswith(name)]


def wait_applied(http, count, timeout=600):
    deadline = time.time() + timeout
    while time.time() < deadline:
        lines = metric(http, "causalrec_events_applied_total")
        if lines and float(lines[0].split()[-1]) >= count:
            return True
        time.sleep(1)
    return False


def ids(args):
    producer = Producer({"bootstrap.servers": args.brokers, "linger.ms": 20})
    slates, per_slate = 1000, 1000
    now = int(time.time() * 1000)
    print("before", rss(args.pid))
    for slate in range(slates):
        items = [f"item-{slate}-{i}" for i in range(per_slate)]
        event = {"type": "impression", "user": f"user-{slate}", "items": items, "ts": now}
        producer.produce("events", json.dumps(event).encode(), key=f"user-{slate}".encode())
        if slate % 100 == 99:
            producer.flush()
            wait_applied(args.http, slate + 1)
            print(f"{(slate + 1) * per_slate} distinct item ids", rss(args.pid), metric(args.http, "causalrec_rows{"))
    print("ready", get(args.http, "/ready"))
    print(metric(args.http, "causalrec_rows_evicted_total"))


def future(args):
    producer = Producer({"bootstrap.servers": args.brokers})
    now = int(time.time() * 1000)
    sent = 0

    def send(event, timestamp=None):
        nonlocal sent
        producer.produce("events", json.dumps(event).encode(), key=event["user"].encode(), timestamp=timestamp or event["ts"])
        sent += 1

    for index in range(700):
        send({"type": "impression", "user": f"v{index % 50}", "items": [f"A{1 + index % 5}"], "ts": now + index})
        if index % 50 == 0:
            send({"type": "click", "user": "alice", "item": f"A{1 + index % 5}", "ts": now + index})
    ahead = now + 23 * 3_600_000
    for index in range(8):
        send({"type": "impression", "user": f"forger{index}", "items": ["Z"], "ts": ahead + index}, timestamp=ahead + index)
    for index in range(300):
        send({"type": "impression", "user": f"v{index % 50}", "items": [f"A{1 + index % 5}"], "ts": now + 1_000 + index})
    send({"type": "request", "user": "cold-user", "k": 3, "ts": now + 2_000})
    send({"type": "request", "user": "alice", "k": 3, "ts": now + 2_001})
    producer.flush()
    wait_applied(args.http, sent - 8, timeout=120)
    time.sleep(2)
    consumer = Consumer({"bootstrap.servers": args.brokers, "group.id": f"measure-{time.time()}", "auto.offset.reset": "earliest"})
    consumer.subscribe(["recommendations"])
    answers, deadline = {}, time.time() + 30
    while time.time() < deadline and len(answers) < 2:
        message = consumer.poll(1)
        if message and not message.error():
            answer = json.loads(message.value())
            if answer.get("user") in ("cold-user", "alice"):
                answers[answer["user"]] = answer
    for user, answer in answers.items():
        print(user, answer.get("ranking"), [item["item"] for item in answer.get("items", [])])
    print(metric(args.http, "causalrec_future_events_total"), metric(args.http, "causalrec_dlq_total"))


def trickle(args):
    host, port = args.http.split(":")
    sockets = []
    for _ in range(args.connections):
        connection = socket.create_connection((host, int(port)), timeout=5)
        connection.sendall(b"GET /recommendations?user=x HTTP/1.1\r\n")
        sockets.append(connection)
    results = []
    for round in range(5):
        for connection in sockets:
            try:
                connection.sendall(b"X-Slow: 1\r\n")
            except OSError:
                pass
        results.append((get(args.http, "/health")[0], get(args.http, "/ready")[0]))
        time.sleep(4)
    print(f"{args.connections} trickling connections: (/health, /ready) per round", results)


parser = argparse.ArgumentParser()
parser.add_argument("scenario", choices=["ids", "future", "trickle"])
parser.add_argument("--brokers")
parser.add_argument("--pid", type=int)
parser.add_argument("--http", default="127.0.0.1:9464")
parser.add_argument("--connections", type=int, default=64)
args = parser.parse_args()
globals()[args.scenario](args)
