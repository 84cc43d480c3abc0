import CausalRecCore

/// Where a replay reads its records from. The runner knows only this: event files are read here,
/// a topic range by the service module's reader, so the replay itself needs no Kafka client.
package protocol ReplayRecordSource: AnyObject {
    /// Names the source in the report ("a.jsonl, b.jsonl", "events on host:9092").
    var sourceDescription: String { get }
    /// How many records the source will deliver, once `read` has started; 0 when not known in
    /// advance (files are streamed).
    var totalToRead: Int { get }
    /// Reads everything; `deliver` gets records in (ts, partition, offset) order.
    func read(deliver: ([ReplayRecord]) throws -> Void) throws
}

/// A replay that cannot run: a missing file, an unknown sampler, a topic that does not exist.
/// The message is meant for the user as it is.
public struct ReplaySourceError: Error, CustomStringConvertible {
    public let description: String

    public init(description: String) {
        self.description = description
    }
}
