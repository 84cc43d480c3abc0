import CausalRecCore
import CausalRecPipeline
import Foundation
import Kafka
import KafkaTestSupport
import Logging
import Testing

/// The end-to-end check of the service on a given cluster: simulator events plus planted
/// malformed messages on a 3-partition topic; the service must consume all of them, answer every
/// request, dead-letter each malformed message with its reason, and commit so that a restarted
/// member of the same group gets nothing twice.
struct ServiceScenario {
    let cluster: KafkaClusterConnection
    let logger = TestKafka.logger

    /// Planted malformed messages and a phrase their dead-letter reason must contain.
    static let malformed: [(payload: String, reason: String)] = [
        (#"{"type":"click","user":"u1","item":"#, "not valid JSON"),
        (#"{"type":"click","item":"i1","ts":1732838401456}"#, "Field 'user' is missing."),
        (#"{"type":"purchase","user":"u1","item":"i1","ts":1732838401456}"#, "Field 'type' is 'purchase'"),
        (#"{"type":"click","user":17,"item":"i1","ts":1732838401456}"#, "Field 'user' must be a string"),
        (SimulatorPublisher.oversizeSample(bytes: 200 * 1024), "above the 65536-byte limit"),
    ]

    func configuration(suffix: String) -> PipelineConfiguration {
        var configuration = PipelineConfiguration()
        configuration.groupID = "scenario-\(suffix)"
        configuration.topics.events = "events-\(suffix)"
        configuration.topics.recommendations = "recommendations-\(suffix)"
        configuration.topics.alerts = "alerts-\(suffix)"
        configuration.topics.deadLetter = "dlq-\(suffix)"
        configuration.topics.partitions = 3
        // Group timing that makes joins take seconds, not ~23 s, on the mock and on tansu.
        configuration.kafka = ["session.timeout.ms": "6000", "heartbeat.interval.ms": "1000", "max.poll.interval.ms": "10000"]
        configuration.consumer.commitIntervalMilliseconds = 500
        configuration.progress.intervalSeconds = 60
        configuration.checkpoint.directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("causalrec-scenario-\(suffix)").path
        return configuration
    }

    func runService(_ configuration: PipelineConfiguration, idle: Duration = .seconds(4)) async throws -> ProcessingOutcome {
        let service = RecommenderService(configuration: configuration, bootstrapServers: cluster.bootstrapServers,
                                             options: RunOptions(idleExit: idle), logger: logger)
        try await service.run()
        return try #require(service.outcome)
    }

    /// Reads `expected` messages from all partitions of `topic` (or gives up after `timeout`).
    func read(topic: String, partitions: Int, expected: Int, timeout: Duration = .seconds(30)) throws -> RecordingHandler {
        let consumer = try KafkaConsumer(configuration: TestKafka.consumerConfiguration(cluster.bootstrapServers, group: nil),
                                         logger: logger)
        try consumer.assign((0..<partitions).map {
            KafkaTopicPartitionOffset(topic: topic, partition: Int32($0), offset: KafkaOffset.beginning)
        })
        let handler = RecordingHandler()
        _ = try consumer.poll(until: { handler.messages.count >= expected }, handler: handler, timeout: timeout)
        // A little longer, to notice extra messages.
        for _ in 0..<5 { try consumer.poll(timeout: .milliseconds(100), handler: handler) }
        try consumer.close()
        return handler
    }

    func run() async throws {
        let suffix = UUID().uuidString.prefix(8).lowercased()
        let configuration = configuration(suffix: String(suffix))
        try cluster.ensureTopics(configuration.topics)

        // Produce: 3000 simulator events with the malformed ones spread among them.
        let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(bootstrapServers: cluster.bootstrapServers),
                                         logger: logger)
        var simulator = ClickSimulator(configuration: SimulatorConfiguration())
        var requests: [String: Int] = [:]
        var total = 0
        for index in 0..<3_000 {
            let event = simulator.next()
            if case let .request(request) = event { requests["\(request.user)|\(request.timestamp!)", default: 0] += 1 }
            try producer.send(topic: configuration.topics.events, key: event.user, value: EventEncoder.encode(event))
            total += 1
            if index % 600 == 300 {
                let planted = Self.malformed[index / 600]
                try producer.send(topic: configuration.topics.events, key: "planted-\(index / 600)", value: planted.payload)
                total += 1
            }
        }
        try producer.flush(timeout: .seconds(30))
        #expect(requests.count > 20)

        let outcome = try await runService(configuration)
        #expect(outcome.messages == total)
        #expect(outcome.deadLettered == Self.malformed.count)
        #expect(outcome.recommendationsPublished == requests.values.reduce(0, +))
        #expect(outcome.reason == .idle)

        // Every request answered with a well-formed message.
        let recommendations = try read(topic: configuration.topics.recommendations, partitions: 3,
                                       expected: outcome.recommendationsPublished)
        #expect(recommendations.messages.count == requests.values.reduce(0, +))
        var answered: [String: Int] = [:]
        for (payload, key) in zip(recommendations.payloads, recommendations.keysSeen) {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(payload)) as? [String: Any])
            let user = try #require(object["user"] as? String)
            #expect(key == user)
            let items = try #require(object["items"] as? [[String: Any]])
            #expect(!items.isEmpty && items.count <= 20)
            #expect(items.allSatisfy { $0["item"] is String && $0["score"] is NSNumber })
            #expect(object["model_version"] is NSNumber)
            #expect(object["sampler"] as? String == PipelineConfiguration().recommender.sampler.name)
            let source = try #require(object["source_offset"] as? [String: Any])
            #expect(source["partition"] is NSNumber && source["offset"] is NSNumber)
            let timestamp = try #require((object["ts"] as? NSNumber)?.int64Value)
            answered["\(user)|\(timestamp)", default: 0] += 1
        }
        #expect(answered == requests)

        // Each planted message in the dead-letter topic, unchanged, with its reason and origin.
        let deadLetters = try read(topic: configuration.topics.deadLetter, partitions: 3, expected: Self.malformed.count)
        #expect(deadLetters.messages.count == Self.malformed.count)
        for (payload, headers) in zip(deadLetters.payloads, deadLetters.headersSeen) {
            let text = String(decoding: payload, as: UTF8.self)
            let byKey = Dictionary(headers.map { ($0.key, $0.stringValue ?? "") }, uniquingKeysWith: { first, _ in first })
            // A message larger than the dead-letter copy limit arrives cut to a prefix, with its size.
            let planted = try #require(Self.malformed.first {
                $0.payload == text || ($0.payload.hasPrefix(text) && byKey["original.size"] == "\($0.payload.utf8.count)")
            }, "dead letter is not a planted message")
            #expect(byKey["error"]?.contains(planted.reason) == true, "\(byKey["error"] ?? "no error header") vs \(planted.reason)")
            #expect(byKey["source.topic"] == configuration.topics.events)
            #expect(Int(byKey["source.partition"] ?? "") != nil && Int(byKey["source.offset"] ?? "") != nil)
        }

        // A restarted member of the same group gets nothing twice...
        let again = try await runService(configuration)
        #expect(again.messages == 0)
        // ...and exactly what came after.
        for _ in 0..<10 {
            let event = simulator.next()
            try producer.send(topic: configuration.topics.events, key: event.user, value: EventEncoder.encode(event))
        }
        try producer.close(timeout: .seconds(30))
        let third = try await runService(configuration)
        #expect(third.messages == 10)
    }
}
