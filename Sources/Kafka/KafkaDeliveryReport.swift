/// The outcome of one produced message, as librdkafka reports it.
public struct KafkaDeliveryReport: Sendable {
    public var topicPartition: KafkaTopicPartition
    /// The offset the broker assigned, when delivered.
    public var offset: Int64
    /// Nil when the message was delivered.
    public var error: KafkaError?
    /// Time from `send` to this report (librdkafka's own measurement), when known.
    public var latency: Duration?

    public var isDelivered: Bool { error == nil }
}

/// Running totals of a producer's traffic.
public struct KafkaProducerStatistics: Sendable, Equatable {
    public var sent: Int = 0
    public var delivered: Int = 0
    public var failed: Int = 0
    /// Times `send` found the local queue full and waited.
    public var queueFullWaits: Int = 0

    public var inFlight: Int { sent - delivered - failed }
}

/// A message librdkafka gave up on, with its bytes, so the application can decide what to do:
/// send it again (transient), replace it (a dead-letter record too large for the topic), or drop
/// it with a count. Copied out of the delivery report, which is the only place that still has
/// the bytes once a message has been handed to librdkafka.
public struct KafkaFailedDelivery: Sendable {
    public var topic: String
    public var key: [UInt8]?
    public var value: [UInt8]
    public var headers: [KafkaHeader]
    public var error: KafkaError

    public init(topic: String, key: [UInt8]?, value: [UInt8], headers: [KafkaHeader], error: KafkaError) {
        self.topic = topic
        self.key = key
        self.value = value
        self.headers = headers
        self.error = error
    }
}
