import CausalRecCore
import CausalRecOffline
import CausalRecPipeline
import Foundation
import Kafka
import KafkaTestSupport
import Logging
import Testing

/// The topic side of `replay` and the alerts topic of the service, on the mock cluster.
@Suite("Replay from a topic range, and drift alerts on the alerts topic", .serialized)
struct ReplayAndAlertsTests {
    @Test("replay reads a topic range with its own assignment: from the beginning, from an offset, to a timestamp; it commits nothing")
    func topicReplay() throws {
        let mock = try KafkaMockCluster(brokers: 1, logger: TestKafka.logger)
        let topic = TestKafka.uniqueName("replay")
        try mock.createTopic(topic, partitions: 3)
        let producer = try KafkaProducer(configuration: .init(bootstrapServers: mock.bootstrapServers), logger: TestKafka.logger)
        var simulator = ClickSimulator(configuration: SimulatorConfiguration())
        var timestamps: [Int64] = []
        for _ in 0..<4_000 {
            let event = simulator.next()
            timestamps.append(event.timestamp!)
            try producer.send(topic: topic, key: event.user, value: EventEncoder.encode(event))
        }
        try producer.send(topic: topic, key: "bad", value: "{not json")
        try producer.close(timeout: .seconds(30))

        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("replay-topic-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        func replay(_ start: ReplayTopicRange.Start, to end: Int64?) throws -> [String: Any] {
            var configuration = PipelineConfiguration()
            configuration.kafka = ["group.id": "must-not-be-used"]
            let source = ReplayTopicSource(range: ReplayTopicRange(bootstrapServers: mock.bootstrapServers, topic: topic,
                                                                   start: start, endTimestamp: end, properties: configuration.kafka),
                                           limits: configuration.events, logger: TestKafka.logger)
            var options = ReplayOptions(samplers: ["random", "popularity"], configuration: configuration,
                                        windowEvents: 1_000, reportDirectory: directory)
            options.progress = false
            let summary = try ReplayRunner(options: options, logger: TestKafka.logger).run(from: source)
            // One line per sampler, the two peers (mostpop, decayed popularity), then the totals.
            #expect(summary.lines.count == 5)
            #expect(summary.lines.map { String($0.prefix(while: { $0 != ":" && $0 != " " })) }.prefix(3) == ["random", "popularity", "mostpop"])
            #expect(summary.lines[3].hasPrefix("decayed"))
            #expect(summary.lines[4].hasPrefix("events "))
            return try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: directory + "/report.json"))) as? [String: Any])
        }

        let whole = try replay(.beginning, to: nil)
        #expect(whole["events"] as? Int == 4_000)
        #expect(whole["invalid"] as? Int == 1)
        // From offset 1,000 in each of the three partitions: all but the first 1,000 of each (and
        // the one bad message sits at or after that offset in its partition, or not).
        let tail = try replay(.offset(1_000), to: nil)
        let tailEvents = try #require(tail["events"] as? Int)
        #expect(tailEvents + (tail["invalid"] as? Int ?? 0) == 4_001 - 3_000)
        // Up to an event time: exactly the events at or before it.
        let cut = timestamps[1_999]
        let head = try replay(.beginning, to: cut)
        #expect(head["events"] as? Int == timestamps.filter { $0 <= cut }.count)
        // (Seeking by timestamp uses the broker's ListOffsets, which the mock does not answer;
        // RealBrokerTests covers that seek against the real broker.)
        // Events are replayed in time order across the three partitions: the windows' times never go back.
        let windows = try #require(whole["windows"] as? [[String: Any]])
        let bounds = windows.flatMap { [($0["first_ts"] as? NSNumber)!.int64Value, ($0["last_ts"] as? NSNumber)!.int64Value] }
        #expect(bounds == bounds.sorted())

        // The replay never joined or committed to a group.
        let admin = try KafkaConsumer(configuration: TestKafka.consumerConfiguration(mock.bootstrapServers, group: "must-not-be-used"),
                                      logger: TestKafka.logger)
        let committed = try admin.committed((0..<3).map { KafkaTopicPartition(topic: topic, partition: Int32($0)) }, timeout: .seconds(5))
        #expect(committed.allSatisfy { $0.offset < 0 }, "\(committed)")
        try admin.close()
    }

    @Test("a planted exposure shift raises an alert on the alerts topic, in the schema README.md gives under \"Events and outputs\"")
    func alertsTopic() async throws {
        let cluster = try KafkaClusterConnection(.embedded, logger: TestKafka.logger)
        let scenario = ServiceScenario(cluster: cluster)
        let suffix = String(UUID().uuidString.prefix(8).lowercased())
        var configuration = scenario.configuration(suffix: suffix)
        configuration.topics.partitions = 1
        configuration.checkpoint.enabled = false
        configuration.drift.windowEvents = 4_000
        configuration.drift.warmupEvents = 4_000
        configuration.drift.cooldownEvents = 100_000
        try cluster.ensureTopics(configuration.topics)
        var simulatorConfiguration = SimulatorConfiguration()
        simulatorConfiguration.shiftAt = 16_000
        var simulator = ClickSimulator(configuration: simulatorConfiguration)
        let producer = try KafkaProducer(configuration: .init(bootstrapServers: cluster.bootstrapServers), logger: TestKafka.logger)
        for _ in 0..<24_000 {
            let event = simulator.next()
            try producer.send(topic: configuration.topics.events, key: event.user, value: EventEncoder.encode(event))
        }
        try producer.close(timeout: .seconds(30))

        let outcome = try await scenario.runService(configuration, idle: .seconds(2))
        #expect(outcome.appliedEvents == 24_000)
        let alerts = try scenario.read(topic: configuration.topics.alerts, partitions: 1, expected: 1, timeout: .seconds(10))
        #expect(alerts.messages.count == 1, "\(alerts.messages.map(\.value))")
        let alert = try #require(try JSONSerialization.jsonObject(with: Data(alerts.payloads.first ?? [])) as? [String: Any])
        #expect(["exposure_js", "exposure_psi", "click_js", "click_psi", "hit_rate"].contains(alert["metric"] as? String ?? ""))
        #expect(alert["value"] is NSNumber && alert["threshold"] is NSNumber && alert["ts"] is NSNumber)
        #expect(["warning", "critical"].contains(alert["severity"] as? String ?? ""))
        let window = try #require(alert["window"] as? [String: Any])
        #expect(window["start"] is NSNumber && window["end"] is NSNumber)
        let index = try #require((alert["event_index"] as? NSNumber)?.intValue)
        #expect(index > 16_000 && index <= 24_000, "alert at event \(index)")
    }
}
