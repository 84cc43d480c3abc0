import CausalRecCore

/// One input message of a replay, decoded, with the position it is merged by.
struct ReplayRecord: Sendable {
    /// The event's `ts` (or the transport timestamp, or the previous record's when neither exists).
    var timestamp: Int64
    /// The Kafka partition, or the input file's index.
    var partition: Int32
    /// The Kafka offset, or the line number.
    var offset: Int64
    var event: Result<Event, EventRejection>

    /// Replay order: time first; ties keep each partition's own order and a fixed partition order.
    static func precedes(_ a: ReplayRecord, _ b: ReplayRecord) -> Bool {
        (a.timestamp, a.partition, a.offset) < (b.timestamp, b.partition, b.offset)
    }
}
