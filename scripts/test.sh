#!/usr/bin/env bash
# `make test`: installs what is missing, builds, starts a real Kafka-protocol broker (tansu) on a free
# loopback port, runs every test against it and the in-process mock cluster, and stops the broker.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-debian.sh
scripts/fetch-test-broker.sh

# The layout's rules: folders in layer order (scripts/layers.txt), files of at most 400 lines.
scripts/check-layout.sh

swift build --build-tests

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
log=$(mktemp -t tansu.XXXXXX.log)
.tools/bin/tansu broker --listener-url "tcp://127.0.0.1:$port" --advertised-listener-url "tcp://127.0.0.1:$port" \
  --storage-engine memory://tansu/ >"$log" 2>&1 &
broker_pid=$!
stop_broker() { kill "$broker_pid" 2>/dev/null || true; wait "$broker_pid" 2>/dev/null || true; }
trap stop_broker EXIT

python3 - "$port" <<'PY'
import socket, sys, time
deadline = time.time() + 15
while True:
    try:
        socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=1).close()
        break
    except OSError:
        if time.time() > deadline:
            sys.exit("tansu did not start listening within 15 s")
        time.sleep(0.05)
PY
echo "tansu broker (pid $broker_pid) listening on 127.0.0.1:$port"

# The test binaries load librdkafka 2.16 (see fetch-test-broker.sh); the broker address is in KAFKA_BOOTSTRAP.
KAFKA_BOOTSTRAP="127.0.0.1:$port" LD_LIBRARY_PATH="$PWD/.tools/librdkafka${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
  swift test --skip-build "$@"
