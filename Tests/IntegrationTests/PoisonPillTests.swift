import CausalRecCore
import CausalRecPipeline
import Foundation
import Kafka
import KafkaTestSupport
import Testing

/// The crash loop of the poison-pill issue, replayed on a real broker: a 1.2 MB message the broker
/// accepted into the input, an event stamped a month ahead, and a request whose answer (1,000 ids
/// of escaped control characters) is larger than any message the producer may send — among 400
/// valid events. `causalrec run` must go through all of it, exit 0 on idle, and start cleanly again.
@Suite("Poison pills on a real broker (KAFKA_BOOTSTRAP)", .serialized, .enabled(if: RealBroker.bootstrap != nil, "KAFKA_BOOTSTRAP is not set"))
struct PoisonPillTests {
    var bootstrap: String { RealBroker.bootstrap! }

    /// An id of 256 bytes, mostly control characters: 6 bytes each once escaped in JSON.
    static func longID(_ index: Int) -> String {
        let prefix = String(format: "i%04d", index)
        return prefix + String(repeating: "\u{1}", count: 256 - prefix.utf8.count)
    }

    @Test("a 1.2 MB message, a far-future event and an unproducible answer among 400 valid events: exit 0, all applied, bounded dead letters, a clean restart")
    func poisonPills() throws {
        guard ServiceProcess.binaryExists else {
            Issue.record("\(ServiceProcess.binary) is missing; build the package first")
            return
        }
        let suffix = String(UUID().uuidString.prefix(8).lowercased())
        let admin = try KafkaAdmin(bootstrapServers: bootstrap, logger: TestKafka.logger)
        try admin.createTopics(["events", "recommendations", "alerts", "dlq"].map { KafkaTopicSpecification(name: "\($0)-\(suffix)", partitions: 1) },
                               timeout: .seconds(30))
        var producerConfiguration = KafkaProducerConfiguration(bootstrapServers: bootstrap)
        producerConfiguration.properties = ["message.max.bytes": "4000000"]
        let producer = try KafkaProducer(configuration: producerConfiguration, logger: TestKafka.logger)
        let topic = "events-\(suffix)"
        let now = Int64(Date().timeIntervalSince1970 * 1_000)
        var valid = 0
        func send(_ event: Event) throws {
            try producer.send(topic: topic, key: event.user, value: EventEncoder.encode(event))
            valid += 1
        }

        // 200 valid events: a small simulated world, then 1,000 items with long ids shown twice each.
        var world = SimulatorConfiguration()
        world.items = 100
        world.users = 50
        world.startTimestamp = now - 3_600_000
        var simulator = ClickSimulator(configuration: world)
        for _ in 0..<120 { try send(simulator.next()) }
        for slate in 0..<80 {
            let items = (0..<25).map { Self.longID((slate % 40) * 25 + $0) }
            try send(.impression(Impression(user: "viewer\(slate % 7)", items: items, timestamp: now - 60_000 + Int64(slate))))
        }
        // The 1.2 MB message (the broker takes it; no producer with default settings could pass it on).
        let huge = "{\"type\":\"click\",\"user\":\"u1\",\"item\":\"" + String(repeating: "x", count: 1_200_000) + "\"}"
        try producer.send(topic: topic, key: "huge", value: huge)
        // An event a month ahead of the broker's timestamp.
        try producer.send(topic: topic, key: "u2", value: EventEncoder.encode(.click(Click(user: "u2", item: "i1", timestamp: now + 30 * 86_400_000))))
        // A request whose answer, 1,000 long ids, is ~1.5 MB.
        try send(.request(RecommendationRequest(user: "newcomer", k: 1_000, timestamp: now)))
        // 199 more valid events.
        for _ in 0..<199 { try send(simulator.next()) }
        try producer.close(timeout: .seconds(30))
        #expect(valid == 400)

        let checkpoints = FileManager.default.temporaryDirectory.appendingPathComponent("poison-\(suffix)").path
        defer { try? FileManager.default.removeItem(atPath: checkpoints) }
        let config = FileManager.default.temporaryDirectory.appendingPathComponent("poison-\(suffix).yaml").path
        try """
        group_id: poison-\(suffix)
        topics:
          events: events-\(suffix)
          recommendations: recommendations-\(suffix)
          alerts: alerts-\(suffix)
          dead_letter: dlq-\(suffix)
          create: false
        kafka:
          session.timeout.ms: 6000
          heartbeat.interval.ms: 1000
          max.poll.interval.ms: 30000
        checkpoint:
          directory: \(checkpoints)
        http:
          enabled: false
        """.write(toFile: config, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: config) }

        let first = try ServiceProcess(arguments: ["run", "--config", config, "--idle-exit", "5"],
                                       environment: ["CAUSALREC_BROKERS": bootstrap]).waitForExit()
        #expect(first.status == 0, "\(first.stderr.suffix(3_000))")
        #expect(first.applied == 400, "\(first.stdout)")
        #expect(first.stderr.contains("recommendations output of") && first.stderr.contains("dropped"),
                "the unproducible answer was not reported: \(first.stderr.suffix(2_000))")

        // The dead-letter topic: one bounded record with a reason for each bad message.
        let scenario = ServiceScenario(cluster: try KafkaClusterConnection(.servers([bootstrap]), logger: TestKafka.logger))
        let deadLetters = try scenario.read(topic: "dlq-\(suffix)", partitions: 1, expected: 2)
        #expect(deadLetters.payloads.count == 2)
        var reasons: [String] = []
        for (payload, headers) in zip(deadLetters.payloads, deadLetters.headersSeen) {
            #expect(payload.count <= 65_536, "a dead-letter record of \(payload.count) bytes")
            let byKey = Dictionary(headers.map { ($0.key, $0.stringValue ?? "") }, uniquingKeysWith: { first, _ in first })
            reasons.append(byKey["error"] ?? "")
            #expect(byKey["source.topic"] == topic && Int(byKey["source.offset"] ?? "") != nil)
            if let size = byKey["original.size"] {
                #expect(size == "\(huge.utf8.count)" && payload.count == 1_024)
                #expect(byKey["original.sha256"] == Array(huge.utf8).withUnsafeBytes { SHA256Check.hex($0) })
            }
        }
        #expect(reasons.contains { $0.contains("above the 65536-byte limit") }, "\(reasons)")
        #expect(reasons.contains { $0.contains("ahead of this consumer's clock") }, "\(reasons)")

        // A second run starts cleanly from the checkpoint and applies nothing twice.
        let second = try ServiceProcess(arguments: ["run", "--config", config, "--idle-exit", "3"],
                                        environment: ["CAUSALREC_BROKERS": bootstrap]).waitForExit()
        #expect(second.status == 0, "\(second.stderr.suffix(3_000))")
        #expect(second.applied == 400)
        #expect(second.stderr.contains("restored checkpoint"))
    }
}

/// The digest computed independently of the service (by sha256sum), to check the header.
enum SHA256Check {
    static func hex(_ bytes: UnsafeRawBufferPointer) -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("sha-\(UUID().uuidString)").path
        _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["sha256sum", path]
        let output = Pipe()
        process.standardOutput = output
        try? process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return String(text.prefix(64))
    }
}
