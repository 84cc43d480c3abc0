import CausalRecPipeline
import Kafka

/// A consumer in memory for the poll loop: the first poll assigns the partitions, each poll hands
/// over the next scripted batch (or nothing), closing revokes what is assigned. Commits are logged
/// as `LoggingCommitter` does; every call goes into the shared `CallLog`.
package final class InMemoryPoller: EventPoller {
    package let log: CallLog
    package let partitions: [KafkaTopicPartition]
    /// Batches still to hand over, one per poll.
    package var batches: [[TestMessage]]
    /// Runs after every poll (a test advances its clock or asks the loop to stop here).
    package var afterPoll: ((Int) -> Void)?
    package private(set) var committed: [KafkaTopicPartitionOffset] = []
    package private(set) var polls = 0
    private var assigned = false

    package init(log: CallLog, partitions: [KafkaTopicPartition], batches: [[TestMessage]]) {
        self.log = log
        self.partitions = partitions
        self.batches = batches
    }

    package func subscribe(topics: [String]) throws {
        log.append("subscribe \(topics.joined(separator: ","))")
    }

    package func pollOnce(timeout: Duration, handler: some MessageBatchHandler) throws -> Int {
        polls += 1
        defer { afterPoll?(polls) }
        if !assigned {
            assigned = true
            _ = handler.partitionsAssigned(partitions)
            log.append("assigned")
        }
        guard !batches.isEmpty else { return 0 }
        let batch = batches.removeFirst()
        try handler.consume(messages: batch)
        log.append("consumed \(batch.count)")
        return batch.count
    }

    package func close(handler: (any KafkaConsumerHandler)?) throws {
        if assigned, let handler {
            handler.partitionsWillBeRevoked(partitions, lost: false)
            log.append("revoked")
        }
        assigned = false
        log.append("consumer close")
    }

    package func topicMetadata(_ topic: String, timeout: Duration) throws -> KafkaTopicMetadata? {
        log.append("metadata \(topic)")
        return nil
    }

    package func commit(_ offsets: [KafkaTopicPartitionOffset]) throws {
        log.append("commit \(offsets.map { "\($0.topicPartition.partition)@\($0.offset)" }.joined(separator: ","))")
        committed += offsets
    }

    package func cachedHighWatermark(_ partition: KafkaTopicPartition) -> Int64? { nil }
}
