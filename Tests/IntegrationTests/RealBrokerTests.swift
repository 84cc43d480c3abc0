import CausalRecCore
import CausalRecOffline
import CausalRecPipeline
import Foundation
import Kafka
import KafkaTestSupport
import Testing

/// Tests against a real broker process; `make test` starts one and sets KAFKA_BOOTSTRAP.
/// Without it (plain `swift test`) they are skipped, not passed.
enum RealBroker {
    static var bootstrap: String? { ProcessInfo.processInfo.environment["KAFKA_BOOTSTRAP"].flatMap { $0.isEmpty ? nil : $0 } }
}

@Suite("Against a real broker (KAFKA_BOOTSTRAP)", .serialized, .enabled(if: RealBroker.bootstrap != nil, "KAFKA_BOOTSTRAP is not set"))
struct RealBrokerTests {
    var bootstrap: String { RealBroker.bootstrap! }

    @Test("the service consumes everything, answers every request, dead-letters bad input, resumes without repeats")
    func serviceEndToEnd() async throws {
        let cluster = try KafkaClusterConnection(.servers([bootstrap]), logger: TestKafka.logger)
        try await ServiceScenario(cluster: cluster).run()
    }

    @Test("two members split the partitions; stopping one hands them over after its revoke hook ran")
    func rebalance() throws {
        let topic = TestKafka.uniqueName("rebalance")
        let admin = try KafkaAdmin(bootstrapServers: bootstrap, logger: TestKafka.logger)
        try admin.createTopics([KafkaTopicSpecification(name: topic, partitions: 4)], timeout: .seconds(30))
        let result = try RebalanceScenario(bootstrap: bootstrap, topic: topic).run()
        RebalanceScenario.check(result, messages: 200)
    }

    @Test("a topic replay reads every record of the last batch, wherever the broker puts the high watermark")
    func replayReadsTheLastBatch() throws {
        let topic = TestKafka.uniqueName("replay-batch")
        let admin = try KafkaAdmin(bootstrapServers: bootstrap, logger: TestKafka.logger)
        try admin.createTopics([KafkaTopicSpecification(name: topic, partitions: 1)], timeout: .seconds(30))
        // A long linger puts the 300 messages in a few large batches; tansu 0.6 reports the last
        // batch's base offset + 1 as the high watermark, so a reader that stops there loses the
        // rest of that batch.
        var producerConfiguration = KafkaProducerConfiguration(bootstrapServers: bootstrap)
        producerConfiguration.lingerMilliseconds = 200
        let producer = try KafkaProducer(configuration: producerConfiguration, logger: TestKafka.logger)
        var simulator = ClickSimulator(configuration: SimulatorConfiguration())
        for _ in 0..<300 {
            let event = simulator.next()
            try producer.send(topic: topic, key: event.user, value: EventEncoder.encode(event))
        }
        try producer.close(timeout: .seconds(10))

        let probe = try KafkaConsumer(configuration: TestKafka.consumerConfiguration(bootstrap, group: nil), logger: TestKafka.logger)
        let marks = try probe.queryWatermarks(KafkaTopicPartition(topic: topic, partition: 0), timeout: .seconds(10))
        try probe.close()
        let source = ReplayTopicSource(range: ReplayTopicRange(bootstrapServers: bootstrap, topic: topic, start: .beginning, endTimestamp: nil),
                                       limits: EventLimits(), logger: TestKafka.logger)
        var offsets: [Int64] = []
        try source.read { records in offsets += records.map(\.offset) }
        #expect(offsets.sorted() == (0..<300).map { Int64($0) }, "high watermark reported: \(marks.high)")
    }

    @Test("seek by timestamp finds the first message at or after it")
    func seekByTimestamp() throws {
        let topic = TestKafka.uniqueName("timestamps")
        let admin = try KafkaAdmin(bootstrapServers: bootstrap, logger: TestKafka.logger)
        try admin.createTopics([KafkaTopicSpecification(name: topic, partitions: 1)], timeout: .seconds(30))
        #expect(try admin.listTopics(timeout: .seconds(10)).contains { $0.name == topic && $0.partitionCount == 1 })
        let producer = try KafkaProducer(configuration: .init(bootstrapServers: bootstrap), logger: TestKafka.logger)
        for index in 0..<10 { try producer.send(topic: topic, key: nil, value: "early\(index)") }
        try producer.flush(timeout: .seconds(10))
        Thread.sleep(forTimeInterval: 0.2)
        let cut = Int64(Date().timeIntervalSince1970 * 1000)
        Thread.sleep(forTimeInterval: 0.2)
        for index in 0..<5 { try producer.send(topic: topic, key: nil, value: "late\(index)") }
        try producer.close(timeout: .seconds(10))

        let consumer = try KafkaConsumer(configuration: TestKafka.consumerConfiguration(bootstrap, group: nil), logger: TestKafka.logger)
        let partition = KafkaTopicPartition(topic: topic, partition: 0)
        let offsets = try consumer.offsets(forTimestamp: cut, partitions: [partition], timeout: .seconds(10))
        #expect(offsets.first?.offset == 10)
        try consumer.assign(offsets)
        let handler = RecordingHandler()
        #expect(try consumer.poll(until: { handler.messages.count >= 5 }, handler: handler))
        #expect(handler.messages.map(\.value) == (0..<5).map { "late\($0)" })
        try consumer.close()
    }
}
