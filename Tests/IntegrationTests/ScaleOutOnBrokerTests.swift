import CausalRecCore
import CausalRecPipeline
import Foundation
import Kafka
import KafkaTestSupport
import Testing

/// Two `causalrec run` processes in one group on a real broker, with `scale_out.enabled`: the
/// second joins (partitions move by revoke), then the first is killed with SIGKILL (its partitions
/// move without a goodbye) while the rest of the stream arrives. Every user keeps their history
/// across both moves: no answer names an item the user clicked before the request, and the
/// survivor's applied count is every valid message of every partition.
@Suite("Several instances on a real broker (KAFKA_BOOTSTRAP)", .serialized, .enabled(if: RealBroker.bootstrap != nil, "KAFKA_BOOTSTRAP is not set"))
struct ScaleOutOnBrokerTests {
    var bootstrap: String { RealBroker.bootstrap! }
    static let partitions = 4
    static let half = 5_000

    /// What was produced: per user, the clicks with their times; the valid count; the malformed count.
    struct Produced {
        var clicks: [String: [(ts: Int64, item: String)]] = [:]
        var valid = 0
        var malformed = 0
        var lastTimestamp: Int64 = 0
    }

    func produce(_ topic: String, count: Int, simulator: inout ClickSimulator, into produced: inout Produced) throws {
        let producer = try KafkaProducer(configuration: .init(bootstrapServers: bootstrap), logger: TestKafka.logger)
        for index in 0..<count {
            let event = simulator.next()
            if case let .click(click) = event { produced.clicks[click.user, default: []].append((click.timestamp!, click.item)) }
            produced.lastTimestamp = event.timestamp!
            try producer.send(topic: topic, key: event.user, value: EventEncoder.encode(event))
            produced.valid += 1
            if index % 1_000 == 500 {
                try producer.send(topic: topic, key: "planted", value: #"{"type":"click","user":"#)
                produced.malformed += 1
            }
        }
        try producer.close(timeout: .seconds(60))
    }

    /// Every message of a topic, read to the end of each partition.
    func readAll(_ topic: String, partitions: Int) throws -> [[UInt8]] {
        var configuration = TestKafka.consumerConfiguration(bootstrap, group: nil)
        configuration.reportPartitionEnd = true
        let consumer = try KafkaConsumer(configuration: configuration, logger: TestKafka.logger)
        let handler = RecordingHandler()
        try consumer.assign((0..<partitions).map { KafkaTopicPartitionOffset(KafkaTopicPartition(topic: topic, partition: Int32($0)), offset: KafkaOffset.beginning) })
        let ended = try consumer.poll(until: {
            Set(handler.events.compactMap { if case let .end(partition) = $0 { partition.partition } else { nil } }).count == partitions
        }, handler: handler, timeout: .seconds(60))
        #expect(ended)
        try consumer.close()
        return handler.payloads
    }

    @Test("a partition's users move with it: at a revoke and after the owner is killed")
    func usersMoveWithTheirPartition() throws {
        let suffix = TestKafka.uniqueName("scale")
        let topics = ["events", "recommendations", "alerts", "dlq"].map { "\($0)-\(suffix)" }
        let admin = try KafkaAdmin(bootstrapServers: bootstrap, logger: TestKafka.logger)
        try admin.createTopics(topics.enumerated().map { KafkaTopicSpecification(name: $0.element, partitions: $0.offset == 0 ? Self.partitions : 1) },
                               timeout: .seconds(30))
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("scale-\(suffix)").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        let config = root + "/pipeline.yaml"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        try """
        group_id: group-\(suffix)
        topics:
          events: \(topics[0])
          recommendations: \(topics[1])
          alerts: \(topics[2])
          dead_letter: \(topics[3])
          create: false
        kafka:
          session.timeout.ms: 6000
          heartbeat.interval.ms: 1000
          max.poll.interval.ms: 10000
        model:
          item_init: id
        checkpoint:
          every_events: 1000
          every_seconds: 1
        scale_out:
          enabled: true
        progress:
          interval_seconds: 0.2
        http:
          enabled: false
        """.write(toFile: config, atomically: true, encoding: .utf8)
        let environment = ["CAUSALREC_BROKERS": bootstrap]

        var simulatorConfiguration = SimulatorConfiguration()
        simulatorConfiguration.users = 300
        simulatorConfiguration.seed = 21
        simulatorConfiguration.requestProbability = 0.05
        var simulator = ClickSimulator(configuration: simulatorConfiguration)
        var produced = Produced()
        try produce(topics[0], count: Self.half, simulator: &simulator, into: &produced)

        let first = try ServiceProcess(arguments: ["run", "--config", config, "--checkpoint-dir", root + "/a", "--idle-exit", "120"],
                                       environment: environment)
        #expect(first.waitForLog(timeout: 90) { KillRecoveryTests.messagesRead($0) >= produced.valid + produced.malformed })
        Thread.sleep(forTimeInterval: 2.5)
        let dump = root + "/survivor.jsonl"
        let second = try ServiceProcess(arguments: ["run", "--config", config, "--checkpoint-dir", root + "/b", "--idle-exit", "15",
                                                    "--dump-state", dump],
                                        environment: environment)
        #expect(second.waitForLog(timeout: 60) { $0.contains("partitions assigned") })
        Thread.sleep(forTimeInterval: 3)
        first.send(SIGKILL)
        _ = first.waitForExit()
        let killedAt = produced.lastTimestamp
        try produce(topics[0], count: Self.half, simulator: &simulator, into: &produced)
        let survivor = second.waitForExit()
        #expect(survivor.status == 0, "\(survivor.stderr.suffix(3_000))")
        #expect(survivor.applied == produced.valid, "\(survivor.stderr.suffix(3_000))")
        #expect(survivor.stderr.contains("partition claimed"))

        var answers = 0
        var answersAfterKill = 0
        var alreadyClicked = 0
        for payload in try readAll(topics[1], partitions: 1) {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(payload)) as? [String: Any])
            let user = try #require(object["user"] as? String)
            let ts = try #require((object["ts"] as? NSNumber)?.int64Value)
            let items = try #require(object["items"] as? [[String: Any]]).compactMap { $0["item"] as? String }
            let clickedBefore = Set((produced.clicks[user] ?? []).filter { $0.ts < ts }.map(\.item))
            answers += 1
            if ts > killedAt { answersAfterKill += 1 }
            if items.contains(where: clickedBefore.contains) { alreadyClicked += 1 }
        }
        #expect(alreadyClicked == 0, "\(alreadyClicked) of \(answers) answers name an item the user had clicked")
        #expect(answersAfterKill >= 50, "\(answersAfterKill) answers after the kill")
        #expect(try readAll(topics[3], partitions: 1).count >= produced.malformed)
        print("scale-out on the broker: applied \(survivor.applied ?? -1) of \(produced.valid), \(answers) answers (\(answersAfterKill) after the kill), \(alreadyClicked) naming a clicked item")
        // Items are shared: the survivor's click count of every item is the stream's, the clicks
        // the killed instance counted (and published) included, none counted twice.
        var streamClicks: [String: Int] = [:]
        for clicks in produced.clicks.values { for click in clicks { streamClicks[click.item, default: 0] += 1 } }
        var dumpedClicks: [String: Int] = [:]
        for line in try String(contentsOfFile: dump, encoding: .utf8).split(separator: "\n") {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            if let item = object["item"] as? String { dumpedClicks[item] = (object["clicks"] as? NSNumber)?.intValue }
        }
        let mismatches = streamClicks.filter { dumpedClicks[$0.key] != $0.value }.count
        #expect(mismatches == 0, "\(mismatches) of \(streamClicks.count) items have a click count other than the stream's")
        print("scale-out on the broker: item click counts: \(streamClicks.count) items clicked, \(mismatches) differ from the stream's")
        // Measured, not gated: restore time per partition (the survivor's claims) and the
        // changelog's size.
        let claims = survivor.stderr.split(separator: "\n").filter { $0.contains("partition claimed") }.map { line in
            let field = { (name: String) in line.range(of: "\(name)=").map { line[$0.upperBound...].prefix { !$0.isWhitespace } } ?? "" }
            return "users=\(field("users")) seconds=\(field("seconds").prefix(6))"
        }
        let changelog = try readAll("group-\(suffix)-users-changelog", partitions: Self.partitions)
        print("scale-out on the broker: claims by the survivor: \(claims.joined(separator: "; ")); changelog \(changelog.count) records, \(changelog.reduce(0) { $0 + $1.count }) value bytes over \(Self.partitions) partitions")
    }
}
