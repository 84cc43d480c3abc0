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
        let producer = try KafkaProducer(configuration: .init(bootstrapServers: bootstrap), logger: TestKafka.logger)
        for index in 0..<200 {
            try producer.send(topic: topic, key: nil, value: "m\(index)", partition: Int32(index % 4))
        }
        try producer.flush(timeout: .seconds(10))
        let group = TestKafka.uniqueName("g")
        let clock = ContinuousClock()

        let first = try KafkaConsumer(configuration: TestKafka.consumerConfiguration(bootstrap, group: group), logger: TestKafka.logger)
        try first.subscribe(topics: [topic])
        let firstHandler = RecordingHandler()
        var revokes: [(at: ContinuousClock.Instant, delivered: Int)] = []
        firstHandler.onRevoke = { partitions in
            revokes.append((clock.now, firstHandler.messages.count))
            var next: [KafkaTopicPartitionOffset] = []
            for partition in partitions {
                if let last = firstHandler.messages.filter({ $0.partition == partition.partition }).map(\.offset).max() {
                    next.append(KafkaTopicPartitionOffset(partition, offset: last + 1))
                }
            }
            try? first.commit(next)
        }
        #expect(try first.poll(until: { firstHandler.currentAssignment.count == 4 && firstHandler.messages.count >= 200 },
                               handler: firstHandler, timeout: .seconds(60)))

        final class TimedHandler: KafkaConsumerHandler {
            let inner = RecordingHandler()
            var assignedAt: [ContinuousClock.Instant] = []
            func consume(_ batch: KafkaMessageBatch) throws { try inner.consume(batch) }
            func partitionsAssigned(_ partitions: [KafkaTopicPartition]) -> [KafkaTopicPartition: Int64] {
                assignedAt.append(ContinuousClock().now)
                return inner.partitionsAssigned(partitions)
            }
            func partitionsWillBeRevoked(_ partitions: [KafkaTopicPartition], lost: Bool) {
                inner.partitionsWillBeRevoked(partitions, lost: lost)
            }
        }
        let second = try KafkaConsumer(configuration: TestKafka.consumerConfiguration(bootstrap, group: group), logger: TestKafka.logger)
        try second.subscribe(topics: [topic])
        let secondHandler = TimedHandler()
        let deadline = clock.now.advanced(by: .seconds(60))
        while clock.now < deadline
            && !(firstHandler.currentAssignment.count == 2 && secondHandler.inner.currentAssignment.count == 2)
        {
            try first.poll(timeout: .milliseconds(50), handler: firstHandler)
            try second.poll(timeout: .milliseconds(50), handler: secondHandler)
        }
        #expect(firstHandler.currentAssignment.count == 2)
        #expect(secondHandler.inner.currentAssignment.count == 2)
        #expect(firstHandler.currentAssignment.isDisjoint(with: secondHandler.inner.currentAssignment))
        #expect(revokes.first?.delivered == 200, "everything fetched was handed over before the revoke hook")
        if let revoked = revokes.first?.at, let assigned = secondHandler.assignedAt.first {
            #expect(revoked < assigned, "the hook ran before the other member got partitions")
        } else {
            Issue.record("no revoke or no assignment seen")
        }

        // Stop the first member: its partitions move to the second after its hook ran.
        let handedOver = firstHandler.currentAssignment
        try first.close(handler: firstHandler)
        #expect(revokes.count == 2)
        for index in 0..<40 {
            try producer.send(topic: topic, key: nil, value: "late\(index)", partition: Int32(index % 4))
        }
        try producer.close(timeout: .seconds(10))
        #expect(try second.poll(until: {
            secondHandler.inner.currentAssignment.count == 4
                && secondHandler.inner.messages.filter { $0.value.hasPrefix("late") }.count >= 40
        }, handler: secondHandler, timeout: .seconds(60)))
        let fromHandedOver = secondHandler.inner.messages.filter {
            handedOver.contains(KafkaTopicPartition(topic: topic, partition: $0.partition))
        }
        #expect(!fromHandedOver.isEmpty)
        #expect(fromHandedOver.allSatisfy { $0.value.hasPrefix("late") }, "the revoke hook's commit was honoured")
        try second.close(handler: secondHandler.inner)
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
