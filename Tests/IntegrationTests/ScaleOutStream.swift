import CausalRecCore
import Foundation
import Kafka
import KafkaTestSupport
import Testing

/// What a scale-out test produced, kept so that the instances' final state can be checked
/// against the stream itself: per user the clicks and the last event time, the requests, the
/// exposure every item got from impressions, and the malformed payloads planted among the events.
struct ScaleOutStream {
    var clicks: [String: [(ts: Int64, item: String)]] = [:]
    var lastSeen: [String: Int64] = [:]
    var requests: Set<String> = []
    /// Per item, Σ 2^((t − t₀)/h) over its impressions: the decayed exposure in one fixed unit.
    var exposureWeights: [String: Double] = [:]
    var firstTimestamp: Int64?
    var lastTimestamp: Int64 = 0
    var valid = 0
    var malformed: [[UInt8]] = []
    let halfLifeMilliseconds: Double

    init(halfLifeMilliseconds: Double) {
        self.halfLifeMilliseconds = halfLifeMilliseconds
    }

    static func requestKey(user: String, ts: Int64) -> String { "\(user)@\(ts)" }

    /// Produces `count` simulator events keyed by user (so a user stays on one partition), with a
    /// distinct malformed payload after every 300th.
    mutating func produce(_ topic: String, count: Int, bootstrap: String, simulator: inout ClickSimulator) throws {
        let producer = try KafkaProducer(configuration: .init(bootstrapServers: bootstrap), logger: TestKafka.logger)
        for index in 0..<count {
            let event = simulator.next()
            note(event)
            try producer.send(topic: topic, key: event.user, value: EventEncoder.encode(event))
            if index % 300 == 150 {
                let payload = Array(#"{"type":"click","user":"planted-\#(malformed.count)"#.utf8)
                try producer.send(topic: topic, key: "planted", value: payload)
                malformed.append(payload)
            }
        }
        try producer.close(timeout: .seconds(60))
    }

    /// Notes an event produced elsewhere (by `causalrec simulate` with the same configuration).
    mutating func note(_ event: Event) {
        valid += 1
        guard let ts = event.timestamp else { return }
        firstTimestamp = firstTimestamp ?? ts
        lastTimestamp = ts
        lastSeen[event.user] = max(lastSeen[event.user] ?? ts, ts)
        switch event {
        case let .click(click):
            clicks[click.user, default: []].append((ts, click.item))
        case let .impression(impression):
            let weight = exp2(Double(ts - firstTimestamp!) / halfLifeMilliseconds)
            for item in impression.items { exposureWeights[item, default: 0] += weight }
        case let .request(request):
            requests.insert(Self.requestKey(user: request.user, ts: ts))
        case .forget:
            break
        }
    }

    var clickCounts: [String: Int] {
        var counts: [String: Int] = [:]
        for list in clicks.values { for click in list { counts[click.item, default: 0] += 1 } }
        return counts
    }

    var exposureShares: [String: Double] {
        let total = exposureWeights.values.reduce(0, +)
        return exposureWeights.mapValues { $0 / total }
    }

    func clickedBefore(user: String, ts: Int64) -> Set<String> {
        Set((clicks[user] ?? []).filter { $0.ts < ts }.map(\.item))
    }
}

/// Reading topics to their end, and the instances' logs and state dumps.
enum ScaleOutReading {
    /// Every message of a topic with its partition, read to the end of each partition.
    static func readAll(_ topic: String, partitions: Int, bootstrap: String) throws -> [(partition: Int32, value: [UInt8])] {
        var configuration = TestKafka.consumerConfiguration(bootstrap, group: nil)
        configuration.reportPartitionEnd = true
        let consumer = try KafkaConsumer(configuration: configuration, logger: TestKafka.logger)
        let handler = RecordingHandler()
        try consumer.assign((0..<partitions).map { KafkaTopicPartitionOffset(KafkaTopicPartition(topic: topic, partition: Int32($0)), offset: KafkaOffset.beginning) })
        let ended = try consumer.poll(until: {
            Set(handler.events.compactMap { if case let .end(partition) = $0 { partition.partition } else { nil } }).count == partitions
        }, handler: handler, timeout: .seconds(60))
        #expect(ended, "\(topic) was not read to its end")
        try consumer.close()
        // The handler keeps the raw payloads in the order of its message events.
        let partitionsInOrder = handler.events.compactMap { if case let .message(partition, _, _) = $0 { partition } else { nil } }
        return zip(partitionsInOrder, handler.payloads).map { ($0, $1) }
    }

    /// The newest `held_back=N` of an instance's progress lines: events its event clock applied at
    /// its own time instead of their later stamp.
    static func heldBack(_ log: String) -> Int {
        guard let line = log.split(separator: "\n").last(where: { $0.contains("held_back=") }),
              let start = line.range(of: "held_back=")?.upperBound
        else { return 0 }
        return Int(line[start...].prefix { $0.isNumber }) ?? 0
    }

    /// The partitions an instance owns now, from its "partitions assigned" and "partitions
    /// revoked" log lines in order (eager or incremental, both read the same way).
    static func ownedPartitions(_ log: String) -> Set<Int32> {
        var owned: Set<Int32> = []
        for line in log.split(separator: "\n") {
            let assigned = line.contains("partitions assigned")
            guard assigned || line.contains("partitions revoked"), let range = line.range(of: "partitions=") else { continue }
            let listed = line[range.upperBound...].prefix { !$0.isWhitespace }.split(separator: ",").compactMap { entry -> Int32? in
                guard let open = entry.lastIndex(of: "["), let close = entry.lastIndex(of: "]") else { return nil }
                return Int32(entry[entry.index(after: open)..<close])
            }
            if assigned { owned.formUnion(listed) } else { owned.subtract(listed) }
        }
        return owned
    }

    /// Waits until every instance owns a partition and all `partitions` are owned (the group
    /// settled after a join); false after `timeout` seconds.
    static func waitUntilSettled(_ instances: [ServiceProcess], partitions: Int, timeout: TimeInterval = 90) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let owned = instances.map { ownedPartitions($0.stderr) }
            if owned.allSatisfy({ !$0.isEmpty }) && owned.reduce(0, { $0 + $1.count }) == partitions { return true }
            Thread.sleep(forTimeInterval: 0.1)
        }
        return false
    }

    /// One instance's `--dump-state` file.
    struct Dump {
        struct User { var partition: Int32; var lastSeen: Int64; var clicked: [String] }
        struct Item { var clicks: Int; var exposureShare: Double; var bias: Float; var embedding: [Float] }
        var applied: [Int32: Int] = [:]
        var users: [String: User] = [:]
        var items: [String: Item] = [:]

        init(path: String) throws {
            for line in try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n") {
                let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
                let number = { (key: String) in (object[key] as? NSNumber) }
                if let item = object["item"] as? String {
                    items[item] = Item(clicks: number("clicks")?.intValue ?? -1, exposureShare: number("exposure_share")?.doubleValue ?? -1,
                                       bias: number("bias")?.floatValue ?? .nan,
                                       embedding: (object["embedding"] as? [NSNumber] ?? []).map(\.floatValue))
                } else if let user = object["user"] as? String {
                    users[user] = User(partition: number("partition")?.int32Value ?? -1, lastSeen: number("last_seen")?.int64Value ?? -1,
                                       clicked: object["clicked"] as? [String] ?? [])
                } else if let partition = number("partition")?.int32Value {
                    applied[partition] = number("applied")?.intValue ?? -1
                }
            }
        }

        /// The largest difference between two instances' item rows and biases (items both hold).
        func rowDifference(from other: Dump) -> (maximum: Float, compared: Int, missing: Int) {
            var maximum: Float = 0
            var compared = 0
            var missing = 0
            for (item, mine) in items {
                guard let theirs = other.items[item], theirs.embedding.count == mine.embedding.count else {
                    missing += 1
                    continue
                }
                compared += 1
                maximum = max(maximum, abs(mine.bias - theirs.bias))
                for (a, b) in zip(mine.embedding, theirs.embedding) { maximum = max(maximum, abs(a - b)) }
            }
            return (maximum, compared, missing)
        }
    }
}
