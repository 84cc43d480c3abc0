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
        let producer = try KafkaProducer(configuration: .init(bootstrapServers: cluster.bootstrapServers),
                                         logger: TestKafka.logger)
        for index in 0..<400 {
            try producer.send(topic: "rebalance", key: nil, value: "m\(index)", partition: Int32(index % 4))
        }
        try producer.flush(timeout: .seconds(5))
        let group = TestKafka.uniqueName("g")

        let first = try KafkaConsumer(configuration: TestKafka.consumerConfiguration(cluster.bootstrapServers, group: group),
                                      logger: TestKafka.logger, maxBatchSize: 7)
        try first.subscribe(topics: ["rebalance"])
        let firstHandler = RecordingHandler()
        let clock = ContinuousClock()
        var revokedAt: [ContinuousClock.Instant] = []
        var deliveredAtRevoke: [Int] = []
        // The revoke hook commits what was processed, as the service does.
        firstHandler.onRevoke = { partitions in
            revokedAt.append(clock.now)
            deliveredAtRevoke.append(firstHandler.messages.count)
            var next: [KafkaTopicPartitionOffset] = []
            for partition in partitions {
                let last = firstHandler.messages.filter { $0.partition == partition.partition }.map(\.offset).max()
                if let last { next.append(KafkaTopicPartitionOffset(partition, offset: last + 1)) }
            }
            // The mock coordinator refuses commits while a join is in progress
            // (REBALANCE_IN_PROGRESS); a real broker accepts them in PreparingRebalance. Both are
            // fine for at-least-once; the commit on close below must succeed.
            try? first.commit(next)
        }
        #expect(try first.poll(until: { firstHandler.currentAssignment.count == 4 && firstHandler.messages.count >= 400 },
                               handler: firstHandler))

        // A second member joins: the first must give up half of the partitions.
        let second = try KafkaConsumer(configuration: TestKafka.consumerConfiguration(cluster.bootstrapServers, group: group),
                                       logger: TestKafka.logger)
        try second.subscribe(topics: ["rebalance"])
        final class AssignmentClock: KafkaConsumerHandler {
            let inner: RecordingHandler
            var assignedAt: [ContinuousClock.Instant] = []
            init(_ inner: RecordingHandler) { self.inner = inner }
            func consume(_ batch: KafkaMessageBatch) throws { try inner.consume(batch) }
            func partitionsAssigned(_ partitions: [KafkaTopicPartition]) -> [KafkaTopicPartition: Int64] {
                assignedAt.append(ContinuousClock().now)
                return inner.partitionsAssigned(partitions)
            }
            func partitionsWillBeRevoked(_ partitions: [KafkaTopicPartition], lost: Bool) {
                inner.partitionsWillBeRevoked(partitions, lost: lost)
            }
        }
        let secondHandler = RecordingHandler()
        let secondClock = AssignmentClock(secondHandler)
        let deadline = clock.now.advanced(by: .seconds(40))
        while clock.now < deadline && !(firstHandler.currentAssignment.count == 2 && secondHandler.currentAssignment.count == 2) {
            try first.poll(timeout: .milliseconds(50), handler: firstHandler)
            try second.poll(timeout: .milliseconds(50), handler: secondClock)
        }
        #expect(firstHandler.currentAssignment.count == 2)
        #expect(secondHandler.currentAssignment.count == 2)
        #expect(firstHandler.currentAssignment.isDisjoint(with: secondHandler.currentAssignment))
        // The hook ran with everything fetched already handed over, before the other member got
        // any partition.
        #expect(deliveredAtRevoke.first == 400)
        #expect(revokedAt.first != nil && secondClock.assignedAt.first != nil && revokedAt.first! < secondClock.assignedAt.first!)

        // Stopping the first member hands its partitions over; its revoke hook commits on the way
        // out, so the second member reads only what came after.
        let handedOver = firstHandler.currentAssignment
        try first.close(handler: firstHandler)
        #expect(revokedAt.count == 2)
        for index in 0..<40 {
            try producer.send(topic: "rebalance", key: nil, value: "late\(index)", partition: Int32(index % 4))
        }
        try producer.flush(timeout: .seconds(5))
        #expect(try second.poll(until: { secondHandler.currentAssignment.count == 4 && secondHandler.messages.filter { $0.value.hasPrefix("late") }.count >= 40 },
                                handler: secondClock, timeout: .seconds(40)))
        let fromHandedOver = secondHandler.messages.filter { handedOver.contains(KafkaTopicPartition(topic: "rebalance", partition: $0.partition)) }
        #expect(!fromHandedOver.isEmpty)
        #expect(fromHandedOver.allSatisfy { $0.value.hasPrefix("late") })
        try second.close(handler: secondHandler)
    }
}
