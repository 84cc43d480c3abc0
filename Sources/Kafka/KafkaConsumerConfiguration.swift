/// Settings of a `KafkaConsumer`. Offsets are never committed automatically: the owner commits
/// what it has durably processed. Anything librdkafka understands can be passed in `properties`.
public struct KafkaConsumerConfiguration: Sendable {
    public var bootstrapServers: String
    /// Nil for a consumer that only uses manual assignment (replay) and never joins a group.
    public var groupID: String?
    /// Where a group without committed offsets starts: "earliest" or "latest".
    public var autoOffsetReset: String = "earliest"
    public var sessionTimeoutMilliseconds: Int = 10_000
    public var heartbeatIntervalMilliseconds: Int = 1_000
    public var maxPollIntervalMilliseconds: Int = 30_000
    /// Report reaching the end of a partition (used by bounded replays).
    public var reportPartitionEnd: Bool = false
    public var clientID: String = "causalrec"
    public var properties: [String: String] = [:]

    public init(bootstrapServers: String, groupID: String?) {
        self.bootstrapServers = bootstrapServers
        self.groupID = groupID
    }

    var rdkafkaProperties: [String: String] {
        var result = properties
        result["bootstrap.servers"] = bootstrapServers
        // librdkafka requires group.id even for assign-only consumers; a replay consumer gets a
        // private one and never commits or subscribes with it.
        result["group.id"] = groupID ?? "causalrec-unmanaged"
        result["enable.auto.commit"] = "false"
        result["enable.auto.offset.store"] = "false"
        result["auto.offset.reset"] = autoOffsetReset
        result["session.timeout.ms"] = String(sessionTimeoutMilliseconds)
        result["heartbeat.interval.ms"] = String(heartbeatIntervalMilliseconds)
        result["max.poll.interval.ms"] = String(maxPollIntervalMilliseconds)
        result["enable.partition.eof"] = reportPartitionEnd ? "true" : "false"
        result["client.id"] = clientID
        return result
    }
}
