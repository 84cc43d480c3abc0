import Foundation
import Kafka
import KafkaTestSupport
import Testing

@Suite("Kafka client against the embedded mock cluster")
struct KafkaMockClusterTests {
    @Test("messages round-trip with key, headers and order per partition, in batches")
    func roundTrip() throws {
        let cluster = try KafkaMockCluster(brokers: 1, logger: TestKafka.logger)
        try cluster.createTopic("roundtrip", partitions: 2)
        let producer = try KafkaProducer(configuration: .init(bootstrapServers: cluster.bootstrapServers),
                                         logger: TestKafka.logger)
        for index in 0..<500 {
            try producer.send(topic: "roundtrip", key: "k\(index % 7)", value: "v\(index)",
                              headers: [KafkaHeader(key: "n", string: "\(index)")], partition: Int32(index % 2))
        }
        try producer.flush(timeout: .seconds(10))
        #expect(producer.statistics.delivered == 500)
        #expect(producer.statistics.failed == 0)

        let consumer = try KafkaConsumer(configuration: TestKafka.consumerConfiguration(cluster.bootstrapServers, group: nil),
                                         logger: TestKafka.logger, maxBatchSize: 128)
        try consumer.assign([KafkaTopicPartitionOffset(topic: "roundtrip", partition: 0, offset: KafkaOffset.beginning),
                             KafkaTopicPartitionOffset(topic: "roundtrip", partition: 1, offset: KafkaOffset.beginning)])
        let handler = RecordingHandler()
        #expect(try consumer.poll(until: { handler.messages.count >= 500 }, handler: handler))
        let messages = handler.messages
        #expect(messages.count == 500)
        for partition in [Int32(0), 1] {
            let values = messages.filter { $0.partition == partition }.map(\.value)
            let expected = (0..<500).filter { Int32($0 % 2) == partition }.map { "v\($0)" }
            #expect(values == expected)
        }
        #expect(handler.batchSizes.allSatisfy { $0 <= 128 })
        #expect(handler.batchSizes.contains { $0 > 1 }, "messages should arrive in batches")
        let firstIndex = messages.firstIndex { $0.value == "v7" }!
        #expect(handler.headersSeen[firstIndex] == [KafkaHeader(key: "n", string: "7")])
        #expect(handler.keysSeen[firstIndex] == "k0")
        try consumer.close()
    }

    @Test("a full local queue makes send wait instead of dropping")
    func queueFullIsBackpressure() throws {
        let cluster = try KafkaMockCluster(brokers: 1, logger: TestKafka.logger)
        try cluster.createTopic("bp", partitions: 1)
        var configuration = KafkaProducerConfiguration(bootstrapServers: cluster.bootstrapServers)
        configuration.maxQueuedMessages = 5
        let producer = try KafkaProducer(configuration: configuration, logger: TestKafka.logger)
        for index in 0..<300 {
            try producer.send(topic: "bp", key: nil, value: "m\(index)")
        }
        try producer.flush(timeout: .seconds(20))
        let statistics = producer.statistics
        #expect(statistics.sent == 300)
        #expect(statistics.delivered == 300)
        #expect(statistics.queueFullWaits > 0, "the queue bound of 5 must have been hit")
    }

    @Test("a queue that stays full past the deadline is an error, not a silent drop")
    func queueFullDeadline() throws {
        let cluster = try KafkaMockCluster(brokers: 1, logger: TestKafka.logger)
        try cluster.createTopic("stuck", partitions: 1)
        cluster.setBrokerDown(1)
        var configuration = KafkaProducerConfiguration(bootstrapServers: cluster.bootstrapServers)
        configuration.maxQueuedMessages = 2
        configuration.queueFullDeadline = .milliseconds(300)
        let producer = try KafkaProducer(configuration: configuration, logger: TestKafka.logger)
        var failure: KafkaError?
        for index in 0..<10 {
            do {
                try producer.send(topic: "stuck", key: nil, value: "m\(index)")
            } catch let error as KafkaError {
                failure = error
                break
            }
        }
        #expect(failure?.kind == .queueFull)
        cluster.setBrokerUp(1)
        try producer.flush(timeout: .seconds(20))
        #expect(producer.statistics.delivered == producer.statistics.sent)
    }

    @Test("seek by offset on a manual assignment")
    func seekByOffset() throws {
        let cluster = try KafkaMockCluster(brokers: 1, logger: TestKafka.logger)
        try cluster.createTopic("seek", partitions: 1)
        let producer = try KafkaProducer(configuration: .init(bootstrapServers: cluster.bootstrapServers),
                                         logger: TestKafka.logger)
        for index in 0..<20 {
            try producer.send(topic: "seek", key: nil, value: "m\(index)")
        }
        try producer.flush(timeout: .seconds(5))
        let consumer = try KafkaConsumer(configuration: TestKafka.consumerConfiguration(cluster.bootstrapServers, group: nil),
                                         logger: TestKafka.logger)
        let partition = KafkaTopicPartition(topic: "seek", partition: 0)
        try consumer.assign([KafkaTopicPartitionOffset(partition, offset: 15)])
        let handler = RecordingHandler()
        #expect(try consumer.poll(until: { handler.messages.count >= 5 }, handler: handler))
        #expect(handler.messages.map(\.offset) == [15, 16, 17, 18, 19])

        try consumer.seek([KafkaTopicPartitionOffset(partition, offset: 3)], timeout: .seconds(5))
        let seekHandler = RecordingHandler()
        #expect(try consumer.poll(until: { seekHandler.messages.count >= 17 }, handler: seekHandler))
        #expect(seekHandler.messages.first?.offset == 3)

        let watermarks = try consumer.queryWatermarks(partition, timeout: .seconds(5))
        #expect(watermarks.high == 20)
        // Seeking by timestamp needs ListOffsets by time, which the mock cluster does not
        // implement (it answers -1); IntegrationTests cover it against a real broker.
    }

    @Test("pause stops delivery of a partition until resume")
    func pauseAndResume() throws {
        let cluster = try KafkaMockCluster(brokers: 1, logger: TestKafka.logger)
        try cluster.createTopic("pause", partitions: 2)
        let producer = try KafkaProducer(configuration: .init(bootstrapServers: cluster.bootstrapServers),
                                         logger: TestKafka.logger)
        for index in 0..<40 {
            try producer.send(topic: "pause", key: nil, value: "m\(index)", partition: Int32(index % 2))
        }
        try producer.flush(timeout: .seconds(5))
        let consumer = try KafkaConsumer(configuration: TestKafka.consumerConfiguration(cluster.bootstrapServers, group: nil),
                                         logger: TestKafka.logger)
        let p0 = KafkaTopicPartition(topic: "pause", partition: 0)
        let p1 = KafkaTopicPartition(topic: "pause", partition: 1)
        try consumer.assign([KafkaTopicPartitionOffset(p0, offset: KafkaOffset.beginning),
                             KafkaTopicPartitionOffset(p1, offset: KafkaOffset.beginning)])
        try consumer.pause([p1])
        let handler = RecordingHandler()
        #expect(try consumer.poll(until: { handler.messages.count >= 20 }, handler: handler))
        for _ in 0..<5 { try consumer.poll(timeout: .milliseconds(100), handler: handler) }
        #expect(handler.messages.allSatisfy { $0.partition == 0 })
        try consumer.resume([p1])
        #expect(try consumer.poll(until: { handler.messages.count >= 40 }, handler: handler))
        #expect(handler.messages.filter { $0.partition == 1 }.count == 20)
    }

    @Test("the end of a partition is reported when asked for, after every message before it")
    func partitionEnd() throws {
        let cluster = try KafkaMockCluster(brokers: 1, logger: TestKafka.logger)
        try cluster.createTopic("eof", partitions: 3)
        let producer = try KafkaProducer(configuration: .init(bootstrapServers: cluster.bootstrapServers),
                                         logger: TestKafka.logger)
        for index in 0..<4_000 { try producer.send(topic: "eof", key: "k\(index)", value: "m\(index)") }
        try producer.flush(timeout: .seconds(5))
        var configuration = TestKafka.consumerConfiguration(cluster.bootstrapServers, group: nil)
        configuration.reportPartitionEnd = true
        let consumer = try KafkaConsumer(configuration: configuration, logger: TestKafka.logger)
        try consumer.assign((0..<3).map { KafkaTopicPartitionOffset(topic: "eof", partition: $0, offset: KafkaOffset.beginning) })
        let handler = RecordingHandler()
        let ends = Set((0..<3).map { RecordingHandler.Event.end(KafkaTopicPartition(topic: "eof", partition: Int32($0))) })
        #expect(try consumer.poll(until: { ends.isSubset(of: Set(handler.events)) }, handler: handler))
        #expect(handler.messages.count == 4_000)
        // Each partition's end comes after all of its messages.
        for partition in Int32(0)..<3 {
            let endIndex = handler.events.firstIndex(of: .end(KafkaTopicPartition(topic: "eof", partition: partition)))!
            let before = handler.events[..<endIndex].filter { if case let .message(p, _, _) = $0 { p == partition } else { false } }.count
            #expect(before == handler.messages.filter { $0.partition == partition }.count, "partition \(partition)")
        }
    }

    @Test("admin lists topics the mock cluster knows")
    func adminListsTopics() throws {
        let cluster = try KafkaMockCluster(brokers: 1, logger: TestKafka.logger)
        try cluster.createTopic("listed", partitions: 3)
        let admin = try KafkaAdmin(bootstrapServers: cluster.bootstrapServers, logger: TestKafka.logger)
        let topics = try admin.listTopics(timeout: .seconds(5))
        #expect(topics.contains(KafkaTopicMetadata(name: "listed", partitionCount: 3)))
    }
}
