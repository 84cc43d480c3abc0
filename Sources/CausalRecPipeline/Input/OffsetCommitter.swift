import Kafka

/// What the stream processor needs of the consumer: commit offsets, and the high watermarks it
/// last saw (for lag). A seam: tests commit into memory and check what was committed, and when.
package protocol OffsetCommitter: AnyObject {
    func commit(_ offsets: [KafkaTopicPartitionOffset]) throws
    func cachedHighWatermark(_ partition: KafkaTopicPartition) -> Int64?
}

extension KafkaConsumer: OffsetCommitter {}
