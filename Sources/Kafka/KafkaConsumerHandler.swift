/// Receives what a `KafkaConsumer.poll` produces, synchronously, on the polling thread.
///
/// Ordering guarantee: every message the consumer fetched from a partition is passed to
/// `consume(_:)` before `partitionsWillBeRevoked` is called for that partition, and the partition is
/// handed back to the group only after `partitionsWillBeRevoked` returns. That is the moment to
/// finish work, write state and commit offsets for those partitions.
public protocol KafkaConsumerHandler: AnyObject {
    /// A batch of messages; the views are valid only during this call. When it throws, the poll
    /// hands over no further batch and rethrows the error (the rebalance hooks are still called).
    func consume(_ batch: KafkaMessageBatch) throws

    /// Partitions were assigned to this member. Return start offsets to override the committed
    /// ones (for instance from a checkpoint); partitions left out start at the committed offset or
    /// `auto.offset.reset`.
    func partitionsAssigned(_ partitions: [KafkaTopicPartition]) -> [KafkaTopicPartition: Int64]

    /// The partitions are about to be taken away. `lost` is true when the group already gave them
    /// to someone else (session timeout): committing then fails, state should be discarded.
    func partitionsWillBeRevoked(_ partitions: [KafkaTopicPartition], lost: Bool)

    /// The end of a partition was reached (only with `reportPartitionEnd`).
    func partitionReachedEnd(_ partition: KafkaTopicPartition, offset: Int64)

    /// A non-fatal consumer error (e.g. a broker transport failure). librdkafka keeps retrying.
    func consumerError(_ error: KafkaError)
}

extension KafkaConsumerHandler {
    public func partitionsAssigned(_ partitions: [KafkaTopicPartition]) -> [KafkaTopicPartition: Int64] { [:] }
    public func partitionsWillBeRevoked(_ partitions: [KafkaTopicPartition], lost: Bool) {}
    public func partitionReachedEnd(_ partition: KafkaTopicPartition, offset: Int64) {}
    public func consumerError(_ error: KafkaError) {}
}
