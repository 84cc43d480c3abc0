import Kafka

/// An input message as the stream processor reads it: where it is, when it was stamped, and its
/// bytes (valid only inside `withBytes`). `KafkaMessage` is one; tests feed the processor plain
/// values through the same door.
package protocol InputMessage {
    var topic: String { get }
    var partition: Int32 { get }
    var offset: Int64 { get }
    /// The broker's (or producer's) timestamp in epoch milliseconds, when there is one.
    var timestampMilliseconds: Int64? { get }
    func withBytes<Result>(_ body: (_ key: UnsafeRawBufferPointer?, _ payload: UnsafeRawBufferPointer) throws -> Result) rethrows -> Result
}

extension InputMessage {
    package var topicPartition: KafkaTopicPartition { KafkaTopicPartition(topic: topic, partition: partition) }
}

extension KafkaMessage: InputMessage {
    package func withBytes<Result>(_ body: (_ key: UnsafeRawBufferPointer?, _ payload: UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
        try body(key, payload)
    }
}
