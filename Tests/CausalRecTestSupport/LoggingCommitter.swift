import CausalRecPipeline
import Kafka

/// A committer that keeps what was committed and logs each commit.
package final class LoggingCommitter: OffsetCommitter {
    package let log: CallLog
    package private(set) var committed: [KafkaTopicPartitionOffset] = []
    /// Runs as a commit is issued (to see what else is true at that moment).
    package var onCommit: (() -> Void)?

    package init(log: CallLog) { self.log = log }

    package func commit(_ offsets: [KafkaTopicPartitionOffset]) throws {
        onCommit?()
        log.append("commit \(offsets.map { "\($0.topicPartition.partition)@\($0.offset)" }.joined(separator: ","))")
        committed += offsets
    }

    package func cachedHighWatermark(_ partition: KafkaTopicPartition) -> Int64? { 10 }
}
