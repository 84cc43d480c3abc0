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
