import Kafka
import Logging

/// The consumer's side of the event loop: hands each batch to the processor and, on a
/// rebalance, finishes the partitions going away — a checkpoint when events are pending, then a
/// commit — before librdkafka hands them over (`KafkaConsumerHandler`'s ordering contract).
/// It owns the order; the processor and the checkpointer know nothing of each other's timing.
final class ConsumerCallbacks: MessageBatchHandler {
    let processor: MessageProcessor
    let checkpointer: Checkpointer?
    private let counters: ProcessingCounters
    private let health: BrokerHealth
    private let status: ServiceStatus
    private let checkpointFlushTimeout: Duration
    private let logger: Logger
    private let now: @Sendable () -> ContinuousClock.Instant
    private(set) var firstAssignment: ContinuousClock.Instant?
    /// Set at shutdown: the revoke of leaving the group waits only within it.
    var shutdownBudget: ShutdownBudget?

    init(processor: MessageProcessor, checkpointer: Checkpointer?, counters: ProcessingCounters, health: BrokerHealth,
         status: ServiceStatus, checkpointFlushTimeout: Duration, logger: Logger,
         now: @escaping @Sendable () -> ContinuousClock.Instant = { .now })
    {
        self.now = now
        self.status = status
        self.processor = processor
        self.checkpointer = checkpointer
        self.counters = counters
        self.health = health
        self.checkpointFlushTimeout = checkpointFlushTimeout
        self.logger = logger
    }

    func consume(_ batch: KafkaMessageBatch) throws {
        try processor.process(batch)
    }

    package func consume<Messages: Sequence>(messages: Messages) throws where Messages.Element: InputMessage {
        try processor.process(messages)
    }

    func partitionsAssigned(_ partitions: [KafkaTopicPartition]) -> [KafkaTopicPartition: Int64] {
        if firstAssignment == nil { firstAssignment = now() }
        let starts = processor.assign(partitions)
        publishAssignment()
        logger.info("partitions assigned", metadata: [
            "partitions": "\(Self.describe(partitions))",
            "start": "\(partitions.sorted().map { "\($0.partition)@\(Self.describeStart(starts[$0]))" }.joined(separator: ","))",
        ])
        return starts
    }

    func partitionsWillBeRevoked(_ partitions: [KafkaTopicPartition], lost: Bool) {
        logger.info("partitions revoked", metadata: ["partitions": "\(Self.describe(partitions))", "lost": "\(lost)"])
        if let failure = processor.failure {
            // The state may hold a half-applied message whose position was never recorded:
            // saving or committing it would apply that message twice after a restart and skip
            // the ones after it. The next owner starts from the last good commit instead.
            logger.error("partitions revoked after a failed message: no checkpoint and no commit", metadata: ["error": "\(failure)"])
        } else if !lost {
            let messages = counters.messages.load(ordering: .relaxed)
            if let checkpointer, checkpointer.hasPendingMessages(messages) {
                do {
                    try checkpointer.write(processor, messages: messages, flushTimeout: timeout(checkpointFlushTimeout))
                } catch {
                    logger.error("checkpoint before revoke failed: \(error)")
                }
            }
            do {
                try processor.commit(in: Set(partitions), flushTimeout: timeout(.seconds(10)))
            } catch {
                // The next owner starts from the last successful commit: events since then are
                // applied again there (at-least-once), never skipped.
                logger.warning("commit on revoke failed; the next owner re-reads from the previous commit: \(error)")
            }
        }
        processor.unassign(partitions)
        publishAssignment()
    }

    private func timeout(_ own: Duration) -> Duration {
        shutdownBudget?.timeout(atMost: own) ?? own
    }

    /// `/ready` needs partitions: it reads their count from the status.
    private func publishAssignment() {
        let count = processor.assignedPartitions.count
        status.update { $0.assignedPartitions = count }
    }

    func consumerError(_ error: KafkaError) {
        health.note(error)
    }

    private static func describeStart(_ start: Int64?) -> String {
        switch start {
        case nil: "committed"
        case KafkaOffset.beginning: "beginning"
        case let offset?: "state:\(offset)"
        }
    }

    private static func describe(_ partitions: [KafkaTopicPartition]) -> String {
        partitions.sorted().map(\.description).joined(separator: ",")
    }
}
