/// Settings of a `KafkaProducer`. Anything librdkafka understands can be passed in `properties`;
/// the typed fields win over the same keys there.
public struct KafkaProducerConfiguration: Sendable {
    public var bootstrapServers: String
    /// Idempotent delivery: retries never duplicate or reorder within a partition.
    public var idempotent: Bool = true
    /// How long librdkafka keeps retrying a message before reporting it failed (`message.timeout.ms`).
    public var deliveryTimeoutMilliseconds: Int = 120_000
    /// Batching delay (`linger.ms`).
    public var lingerMilliseconds: Int = 5
    /// How long `send` waits for room when the local queue is full before it gives up with an
    /// error. The message is never dropped silently.
    public var queueFullDeadline: Duration = .seconds(30)
    /// Local queue bound in messages (`queue.buffering.max.messages`); nil keeps librdkafka's.
    public var maxQueuedMessages: Int?
    public var clientID: String = "causalrec"
    public var properties: [String: String] = [:]

    public init(bootstrapServers: String) {
        self.bootstrapServers = bootstrapServers
    }

    var rdkafkaProperties: [String: String] {
        var result = properties
        result["bootstrap.servers"] = bootstrapServers
        result["enable.idempotence"] = idempotent ? "true" : "false"
        result["message.timeout.ms"] = String(deliveryTimeoutMilliseconds)
        result["linger.ms"] = String(lingerMilliseconds)
        result["client.id"] = clientID
        if let maxQueuedMessages {
            result["queue.buffering.max.messages"] = String(maxQueuedMessages)
        }
        return result
    }
}
