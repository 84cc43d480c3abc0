import CausalRecCore

/// One input message of a replay, decoded, with the position it is merged by.
package struct ReplayRecord: Sendable {
    /// The event's `ts` (or the transport timestamp, or the previous record's when neither exists).
    package var timestamp: Int64
    /// The Kafka partition, or the input file's index.
    package var partition: Int32
    /// The Kafka offset, or the line number.
    package var offset: Int64
    package var event: Result<Event, EventRejection>

    package init(timestamp: Int64, partition: Int32, offset: Int64, event: Result<Event, EventRejection>) {
        self.timestamp = timestamp
        self.partition = partition
        self.offset = offset
        self.event = event
    }

    /// Replay order: time first; ties keep each partition's own order and a fixed partition order.
    static func precedes(_ a: ReplayRecord, _ b: ReplayRecord) -> Bool {
        (a.timestamp, a.partition, a.offset) < (b.timestamp, b.partition, b.offset)
    }
}
