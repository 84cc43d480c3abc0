import CAllocationCounter
import CausalRecPipeline
import CausalRecCore
import Foundation
import Kafka
import Logging

/// Messages per second through the embedded (mock) cluster: our `KafkaConsumer` alone, and the
/// whole service (decode, learn, answer requests, commit), each against the bare librdkafka
/// consume loop on the same topic in the same run.
public struct StreamingBenchmark: Sendable {
    public var events = 100_000
    public var logger: Logger

    public init(logger: Logger) {
        self.logger = logger
    }

    final class CountingHandler: KafkaConsumerHandler {
        var count = 0
        var first: ContinuousClock.Instant?
        func consume(_ batch: KafkaMessageBatch) throws {
            if first == nil { first = ContinuousClock().now }
            for message in batch { count += message.payload.count > 0 ? 1 : 0 }
        }
    }

    static func consumeWithKafkaConsumer(bootstrap: String, topic: String, expected total: Int, logger: Logger) throws -> Double {
        let consumer = try KafkaConsumer(configuration: KafkaConsumerConfiguration(bootstrapServers: bootstrap, groupID: nil),
                                         logger: logger)
        try consumer.assign((0..<3).map { KafkaTopicPartitionOffset(topic: topic, partition: Int32($0), offset: KafkaOffset.beginning) })
        let handler = CountingHandler()
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: .seconds(120))
        while handler.count < total && clock.now < deadline {
            try consumer.poll(timeout: .milliseconds(100), handler: handler)
        }
        guard handler.count == total, let first = handler.first else {
            throw KafkaError(kind: .consume, message: "our consumer read \(handler.count) of \(total)")
        }
        let elapsed = clock.now - first
        try consumer.close()
        return elapsed.inSeconds
    }

    public func run() async throws -> [BenchmarkRecord] {
        let cluster = try KafkaClusterConnection(.embedded, logger: logger)
        var configuration = PipelineConfiguration()
        configuration.topics.partitions = 3
        configuration.kafka = ["session.timeout.ms": "6000", "heartbeat.interval.ms": "1000", "max.poll.interval.ms": "10000"]
        configuration.progress.intervalSeconds = 3_600
        try cluster.ensureTopics(configuration.topics)
        let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(bootstrapServers: cluster.bootstrapServers),
                                         logger: logger)
        var simulator = ClickSimulator(configuration: SimulatorConfiguration())
        try SimulatorPublisher(producer: producer, topic: configuration.topics.events).publish(count: events, from: &simulator)
        try producer.close(timeout: .seconds(30))
        let bootstrap = cluster.bootstrapServers
        let topic = configuration.topics.events
        let total = events

        // Each reader fetches the topic from the broker itself; alternate them and keep the best of
        // two runs each, so neither profits from running second.
        var bareSeconds = Double.infinity
        var oursSeconds = Double.infinity
        for _ in 0..<2 {
            bareSeconds = min(bareSeconds, try await DedicatedThread.run(name: "bench-bare") {
                try KafkaBareConsumeLoop.consume(bootstrapServers: bootstrap, topic: topic, partitions: 3, expected: total)
            })
            oursSeconds = min(oursSeconds, try await DedicatedThread.run(name: "bench-consumer") {
                try Self.consumeWithKafkaConsumer(bootstrap: bootstrap, topic: topic, expected: total, logger: logger)
            })
        }
        var serviceConfiguration = configuration
        serviceConfiguration.checkpoint.enabled = false
        let service = RecommenderService(configuration: serviceConfiguration, bootstrapServers: bootstrap,
                                             options: RunOptions(maxMessages: total), logger: logger)
        let allocationsBefore = cac_allocation_count()
        try await service.run()
        let allocations = cac_allocation_count() - allocationsBefore
        guard let outcome = service.outcome, outcome.messages == total else {
            throw KafkaError(kind: .consume, message: "the service did not consume all \(total) events")
        }
        let bareRate = Double(total) / bareSeconds
        var records = [
            BenchmarkRecord(name: "consume.kafka_consumer", value: Double(total) / oursSeconds, unit: "messages/s",
                            reference: bareRate, referenceName: "bare librdkafka poll loop, same topic"),
            BenchmarkRecord(name: "end_to_end.service", value: Double(total) / outcome.processingSeconds, unit: "events/s",
                            reference: bareRate, referenceName: "bare librdkafka poll loop, same topic"),
        ]
        // Counted only under the preloaded interposer (bench/run.sh).
        if cac_allocation_counting() != 0 {
            records.append(BenchmarkRecord(name: "end_to_end.allocations_per_event", value: Double(allocations) / Double(total),
                                           unit: "heap allocations per event (whole run of the service, start-up and shutdown included; all threads)"))
        }
        return records
    }
}
