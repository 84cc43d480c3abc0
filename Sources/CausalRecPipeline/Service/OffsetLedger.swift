import Kafka

/// The next offset to read in each partition, as far as processing has got, and which of those
/// the group has not been told yet.
struct OffsetLedger {
    private(set) var next: [KafkaTopicPartition: Int64] = [:]
    private var committed: [KafkaTopicPartition: Int64] = [:]

    mutating func processed(_ partition: KafkaTopicPartition, offset: Int64) {
        next[partition] = offset + 1
    }

    /// Offsets to commit (only partitions that moved since the last commit), optionally limited
    /// to `partitions`.
    func uncommitted(in partitions: [KafkaTopicPartition]? = nil) -> [KafkaTopicPartitionOffset] {
        let scope = partitions.map(Set.init)
        return next.compactMap { partition, offset in
            if let scope, !scope.contains(partition) { return nil }
            return committed[partition] == offset ? nil : KafkaTopicPartitionOffset(partition, offset: offset)
        }.sorted { $0.topicPartition < $1.topicPartition }
    }

    mutating func markCommitted(_ offsets: [KafkaTopicPartitionOffset]) {
        for offset in offsets { committed[offset.topicPartition] = offset.offset }
    }

    /// Forget partitions this member no longer owns.
    mutating func remove(_ partitions: [KafkaTopicPartition]) {
        for partition in partitions {
            next[partition] = nil
            committed[partition] = nil
        }
    }
}
