import Kafka
import Testing

/// The rebalance check shared by the mock-cluster and real-broker suites: two members of one
/// group split four partitions; the first member's revoke hook must run after everything it
/// fetched was handed to it and before the other member is assigned anything; stopping the first
/// member hands its partitions over, and the hook's commit decides where the second starts.
public struct RebalanceScenario {
    public struct Result {
        /// Messages the first member had received when its first revoke hook ran.
        public var deliveredAtFirstRevoke: Int?
        public var revokeBeforeOtherAssignment: Bool
        public var revokeCount: Int
        public var firstAssignment: Set<KafkaTopicPartition>
        public var secondAssignment: Set<KafkaTopicPartition>
        /// Values the second member read from the partitions handed over at the first's close.
        public var readFromHandedOver: [String]
        public var secondHoldsAll: Bool
    }

    /// Records when partitions are assigned, around a `RecordingHandler`.
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

    public let bootstrap: String
    public let topic: String
    public let messages: Int

    public init(bootstrap: String, topic: String, messages: Int = 200) {
        self.bootstrap = bootstrap
        self.topic = topic
        self.messages = messages
    }

    /// Expects `topic` to exist with four partitions.
    public func run(timeout: Duration = .seconds(60)) throws -> Result {
        let producer = try KafkaProducer(configuration: .init(bootstrapServers: bootstrap), logger: TestKafka.logger)
        for index in 0..<messages {
            try producer.send(topic: topic, key: nil, value: "m\(index)", partition: Int32(index % 4))
        }
        try producer.flush(timeout: .seconds(10))
        let group = TestKafka.uniqueName("g")
        let clock = ContinuousClock()

        let first = try KafkaConsumer(configuration: TestKafka.consumerConfiguration(bootstrap, group: group),
                                      logger: TestKafka.logger, maxBatchSize: 7)
        try first.subscribe(topics: [topic])
        let firstHandler = RecordingHandler()
        var revokes: [(at: ContinuousClock.Instant, delivered: Int)] = []
        // The hook commits what was processed, as the service does. (The mock coordinator refuses
        // commits while a join is in progress; a real broker accepts them. Either way is
        // at-least-once; the commit at close must succeed.)
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
        _ = try first.poll(until: { firstHandler.currentAssignment.count == 4 && firstHandler.messages.count >= messages },
                           handler: firstHandler, timeout: timeout)

        let second = try KafkaConsumer(configuration: TestKafka.consumerConfiguration(bootstrap, group: group), logger: TestKafka.logger)
        try second.subscribe(topics: [topic])
        let secondHandler = TimedHandler()
        let deadline = clock.now.advanced(by: timeout)
        while clock.now < deadline && !(firstHandler.currentAssignment.count == 2 && secondHandler.inner.currentAssignment.count == 2) {
            try first.poll(timeout: .milliseconds(50), handler: firstHandler)
            try second.poll(timeout: .milliseconds(50), handler: secondHandler)
        }
        var result = Result(deliveredAtFirstRevoke: revokes.first?.delivered,
                            revokeBeforeOtherAssignment: false, revokeCount: 0,
                            firstAssignment: firstHandler.currentAssignment,
                            secondAssignment: secondHandler.inner.currentAssignment,
                            readFromHandedOver: [], secondHoldsAll: false)
        if let revoked = revokes.first?.at, let assigned = secondHandler.assignedAt.first {
            result.revokeBeforeOtherAssignment = revoked < assigned
        }

        let handedOver = firstHandler.currentAssignment
        try first.close(handler: firstHandler)
        result.revokeCount = revokes.count
        for index in 0..<40 {
            try producer.send(topic: topic, key: nil, value: "late\(index)", partition: Int32(index % 4))
        }
        try producer.close(timeout: .seconds(10))
        _ = try second.poll(until: {
            secondHandler.inner.currentAssignment.count == 4
                && secondHandler.inner.messages.filter { $0.value.hasPrefix("late") }.count >= 40
        }, handler: secondHandler, timeout: timeout)
        result.secondHoldsAll = secondHandler.inner.currentAssignment.count == 4
        result.readFromHandedOver = secondHandler.inner.messages
            .filter { handedOver.contains(KafkaTopicPartition(topic: topic, partition: $0.partition)) }
            .map(\.value)
        try second.close(handler: secondHandler.inner)
        return result
    }
}

extension RebalanceScenario {
    /// The expectations on a run, shared by both suites.
    public static func check(_ result: Result, messages: Int, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(result.firstAssignment.count == 2, sourceLocation: sourceLocation)
        #expect(result.secondAssignment.count == 2, sourceLocation: sourceLocation)
        #expect(result.firstAssignment.isDisjoint(with: result.secondAssignment), sourceLocation: sourceLocation)
        #expect(result.deliveredAtFirstRevoke == messages, "everything fetched was handed over before the revoke hook",
                sourceLocation: sourceLocation)
        #expect(result.revokeBeforeOtherAssignment, "the hook ran before the other member got partitions",
                sourceLocation: sourceLocation)
        #expect(result.revokeCount >= 2, "the hook ran again when the first member left (rebalances may add more)", sourceLocation: sourceLocation)
        #expect(result.secondHoldsAll, sourceLocation: sourceLocation)
        #expect(!result.readFromHandedOver.isEmpty, sourceLocation: sourceLocation)
        #expect(result.readFromHandedOver.allSatisfy { $0.hasPrefix("late") },
                "the revoke hook's commit at close decided where the new owner started", sourceLocation: sourceLocation)
    }
}
