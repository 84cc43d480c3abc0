import CRdKafka

/// A consumed message, as a view into librdkafka's buffer.
///
/// It is valid only inside the `KafkaConsumerHandler.consume(_:)` call that received it: the
/// consumer destroys the underlying message right after. Copy what must outlive the call. This
/// avoids copying payloads that are decoded once.
public struct KafkaMessage {
    let pointer: UnsafeMutablePointer<rd_kafka_message_t>

    init(pointer: UnsafeMutablePointer<rd_kafka_message_t>) {
        self.pointer = pointer
    }

    public var topic: String {
        pointer.pointee.rkt.map { String(cString: rd_kafka_topic_name($0)) } ?? ""
    }

    public var partition: Int32 { pointer.pointee.partition }
    public var offset: Int64 { pointer.pointee.offset }

    public var topicPartition: KafkaTopicPartition {
        KafkaTopicPartition(topic: topic, partition: partition)
    }

    /// The message timestamp in epoch milliseconds, when the broker or producer set one.
    public var timestampMilliseconds: Int64? {
        var type = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE
        let value = rd_kafka_message_timestamp(pointer, &type)
        return type == RD_KAFKA_TIMESTAMP_NOT_AVAILABLE || value < 0 ? nil : value
    }

    /// The payload bytes (empty for a null payload).
    public var payload: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: pointer.pointee.payload, count: pointer.pointee.len)
    }

    /// Whether the value is null (a tombstone of a compacted topic), not merely empty.
    public var hasNullPayload: Bool { pointer.pointee.payload == nil }

    /// The key bytes, or nil for a null key.
    public var key: UnsafeRawBufferPointer? {
        guard let start = pointer.pointee.key else { return nil }
        return UnsafeRawBufferPointer(start: start, count: pointer.pointee.key_len)
    }

    public var keyString: String? {
        key.map { String(decoding: $0, as: UTF8.self) }
    }

    /// Copies the headers out of the message.
    public var headers: [KafkaHeader] {
        var list: OpaquePointer?
        guard rd_kafka_message_headers(pointer, &list) == RD_KAFKA_RESP_ERR_NO_ERROR, let list else { return [] }
        var result: [KafkaHeader] = []
        var index = 0
        while true {
            var name: UnsafePointer<CChar>?
            var value: UnsafeRawPointer?
            var size = 0
            guard rd_kafka_header_get_all(list, index, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR,
                  let name else { break }
            let bytes = value.map { Array(UnsafeRawBufferPointer(start: $0, count: size)) }
            result.append(KafkaHeader(key: String(cString: name), value: bytes))
            index += 1
        }
        return result
    }
}

/// The messages one `poll` call hands over, in the order librdkafka returned them (per-partition
/// order is preserved). Valid only during the handler call that receives it.
public struct KafkaMessageBatch: RandomAccessCollection {
    let messages: UnsafeBufferPointer<UnsafeMutablePointer<rd_kafka_message_t>>

    public var startIndex: Int { 0 }
    public var endIndex: Int { messages.count }

    public subscript(position: Int) -> KafkaMessage {
        KafkaMessage(pointer: messages[position])
    }
}
