import Foundation
import Kafka
import KafkaTestSupport
import Testing

@Suite("Consumer groups on the embedded mock cluster", .serialized)
struct KafkaConsumerGroupTests {
    @Test("committed offsets let a restarted member continue without repeats")
    func commitAndResume() throws {
        let cluster = try KafkaMockCluster(brokers: 1, logger: TestKafka.logger)
        try cluster.createTopic("commits", partitions: 1)
        let producer = try KafkaProducer(configuration: .init(bootstrapServers: cluster.bootstrapServers),
                                         logger: TestKafka.logger)
        for index in 0..<100 { try producer.send(topic: "commits", key: nil, value: "m\(index)") }
        try producer.flush(timeout: .seconds(5))

        let group = TestKafka.uniqueName("g")
        do {
            let consumer = try KafkaConsumer(configuration: TestKafka.consumerConfiguration(cluster.bootstrapServers, group: group),
                                             logger: TestKafka.logger)
            try consumer.subscribe(topics: ["commits"])
            let handler = RecordingHandler()
            #expect(try consumer.poll(until: { handler.messages.count >= 100 }, handler: handler))
            // Commit only the first 60 as processed.
            try consumer.commit([KafkaTopicPartitionOffset(topic: "commits", partition: 0, offset: 60)])
            try consumer.close(handler: handler)
        }
        let consumer = try KafkaConsumer(configuration: TestKafka.consumerConfiguration(cluster.bootstrapServers, group: group),
                                         logger: TestKafka.logger)
        try consumer.subscribe(topics: ["commits"])
        let handler = RecordingHandler()
        #expect(try consumer.poll(until: { handler.messages.count >= 40 }, handler: handler))
        #expect(handler.messages.first?.offset == 60)
        #expect(handler.messages.count == 40)
        let committed = try consumer.committed([KafkaTopicPartition(topic: "commits", partition: 0)], timeout: .seconds(5))
        #expect(committed.first?.offset == 60)
        try consumer.close(handler: handler)
    }

    @Test("the revoke hook runs after every fetched message was handed over and before the partitions move")
    func rebalanceHookBeforeHandOver() throws {
        let cluster = try KafkaMockCluster(brokers: 1, logger: TestKafka.logger)
        try cluster.createTopic("rebalance", partitions: 4)
        let result = try RebalanceScenario(bootstrap: cluster.bootstrapServers, topic: "rebalance", messages: 400).run()
        RebalanceScenario.check(result, messages: 400)
    }
}
