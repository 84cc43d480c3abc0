import Kafka

/// Where the state stands in each input partition, and what the group has been told.
///
/// `next` is the position of the state: every event before it has been applied, none after.
/// It survives a revoke (the state still holds those events) and is what a checkpoint records.
/// Commits only ever name partitions this member owns.
struct OffsetLedger {
    private(set) var next: [KafkaTopicPartition: Int64] = [:]
    private var committed: [KafkaTopicPartition: Int64] = [:]

    init(restoring positions: [KafkaTopicPartition: Int64] = [:]) {
        next = positions
    }

    mutating func processed(_ partition: KafkaTopicPartition, offset: Int64) {
        next[partition] = offset + 1
    }

    /// The state's position in `partition` changed as a whole (a partition's users restored from
    /// the changelog, or released): nil = the state holds nothing of it.
    mutating func reset(_ partition: KafkaTopicPartition, to offset: Int64?) {
        next[partition] = offset
    }

    /// Offsets to commit among `partitions` (only those that moved since the last commit).
    func uncommitted(in partitions: Set<KafkaTopicPartition>) -> [KafkaTopicPartitionOffset] {
        next.compactMap { partition, offset in
            guard partitions.contains(partition), committed[partition] != offset else { return nil }
            return KafkaTopicPartitionOffset(partition, offset: offset)
        }.sorted { $0.topicPartition < $1.topicPartition }
    }

    mutating func markCommitted(_ offsets: [KafkaTopicPartitionOffset]) {
        for offset in offsets { committed[offset.topicPartition] = offset.offset }
    }

    /// After a revoke the group's committed offsets may move on without us.
    mutating func forgetCommitted(_ partitions: [KafkaTopicPartition]) {
        for partition in partitions { committed[partition] = nil }
    }
}
