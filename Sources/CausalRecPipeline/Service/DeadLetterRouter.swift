import Kafka

/// Sends a message that is not a valid event to the dead-letter topic unchanged (same key and
/// payload), with headers saying why and where it came from, so nothing is lost and the stream
/// goes on.
final class DeadLetterRouter {
    static let errorHeader = "error"
    static let sourceTopicHeader = "source.topic"
    static let sourcePartitionHeader = "source.partition"
    static let sourceOffsetHeader = "source.offset"

    private let producer: KafkaProducer
    let topic: String

    init(producer: KafkaProducer, topic: String) {
        self.producer = producer
        self.topic = topic
    }

    func route(_ message: KafkaMessage, reason: String) throws {
        let headers = [
            KafkaHeader(key: Self.errorHeader, string: reason),
            KafkaHeader(key: Self.sourceTopicHeader, string: message.topic),
            KafkaHeader(key: Self.sourcePartitionHeader, string: String(message.partition)),
            KafkaHeader(key: Self.sourceOffsetHeader, string: String(message.offset)),
        ]
        try producer.send(topic: topic, key: message.key, value: message.payload, headers: headers)
    }
}
