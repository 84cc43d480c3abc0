import CausalRecOffline
import CausalRecCore
import Foundation
import Kafka
import Logging

public struct ReplayTopicRange: Sendable {
    public enum Start: Sendable, Equatable {
        case beginning
        /// The same offset in every partition (clamped to what the partition still holds).
        case offset(Int64)
        /// Events at or after this event time (epoch ms). The start offset is looked up by the
        /// messages' timestamps (exact when producers stamp messages with event time); events
        /// before the time that are read anyway are skipped.
        case timestamp(Int64)
    }

    public var bootstrapServers: String
    public var topic: String
    public var start: Start
    /// Stop each partition at its first message after this time; nil: at the end the topic had
    /// when the replay began.
    public var endTimestamp: Int64?
    /// librdkafka properties (e.g. security settings) for the replay's consumer.
    public var properties: [String: String]

    public init(bootstrapServers: String, topic: String, start: Start, endTimestamp: Int64?, properties: [String: String] = [:]) {
        self.bootstrapServers = bootstrapServers
        self.topic = topic
        self.start = start
        self.endTimestamp = endTimestamp
        self.properties = properties
    }
}

/// A topic range as a replay source: read with its own consumer and a manual assignment, never
/// the live group, never a commit.
package final class ReplayTopicSource: ReplayRecordSource {
    package let range: ReplayTopicRange
    private let decoder: EventDecoder
    private let logger: Logger
    private var reader: ReplayTopicReader?

    package init(range: ReplayTopicRange, limits: EventLimits, logger: Logger) {
        self.range = range
        decoder = EventDecoder(limits: limits)
        self.logger = logger
    }

    package var sourceDescription: String { "\(range.topic) on \(range.bootstrapServers)" }
    package var totalToRead: Int { reader?.totalToRead ?? 0 }

    package func read(deliver: ([ReplayRecord]) throws -> Void) throws {
        let reader = ReplayTopicReader(range: range, decoder: decoder, logger: logger)
        self.reader = reader
        try reader.run(deliver: deliver)
    }
}

/// Reads a topic range partition by partition and hands records on in merged order.
final class ReplayTopicReader: KafkaConsumerHandler {
    private let range: ReplayTopicRange
    private let decoder: EventDecoder
    private let logger: Logger
    private var merger: ReplayMerger
    /// Each partition's high watermark when the replay began. A partition ends at its first
    /// end-of-partition at or past it, not at it: some brokers (tansu 0.6) report the last
    /// batch's base offset + 1 as the watermark, so the records after that in the last batch
    /// lie past it and would be dropped.
    private var ends: [Int32: Int64] = [:]
    private var lastTimestamp: [Int32: Int64] = [:]
    private var open: Set<Int32> = []
    private var endsReached: Set<Int32> = []
    private(set) var messagesRead = 0
    private(set) var totalToRead = 0

    init(range: ReplayTopicRange, decoder: EventDecoder, logger: Logger) {
        self.range = range
        self.decoder = decoder
        self.logger = logger
        merger = ReplayMerger(partitions: [])
    }

    /// Reads the whole range; `deliver` gets records in (ts, partition, offset) order.
    func run(deliver: ([ReplayRecord]) throws -> Void) throws {
        var configuration = KafkaConsumerConfiguration(bootstrapServers: range.bootstrapServers, groupID: nil)
        configuration.properties.merge(range.properties) { $1 }
        // Security settings pass through; the wrapper replaces any group.id with a private one
        // and turns auto-commit off, so a replay never joins or commits to the live group.
        configuration.properties.removeValue(forKey: "group.instance.id")
        // The end of a partition may be a transaction marker no consumer ever sees, so the
        // end-of-partition event (not only the last message) closes it.
        configuration.reportPartitionEnd = true
        let consumer = try KafkaConsumer(configuration: configuration, logger: logger)
        guard let metadata = try consumer.topicMetadata(range.topic, timeout: .seconds(10)), metadata.partitionCount > 0 else {
            throw ReplaySourceError(description: "topic '\(range.topic)' does not exist on \(range.bootstrapServers)")
        }
        let partitions = (0..<Int32(metadata.partitionCount)).map { KafkaTopicPartition(topic: range.topic, partition: $0) }
        var starts: [Int32: Int64] = [:]
        var lows: [Int32: Int64] = [:]
        for partition in partitions {
            let marks = try consumer.queryWatermarks(partition, timeout: .seconds(10))
            lows[partition.partition] = marks.low
            ends[partition.partition] = marks.high
        }
        switch range.start {
        case .beginning:
            starts = lows
        case let .offset(offset):
            for (partition, low) in lows { starts[partition] = min(max(low, offset), ends[partition]!) }
        case let .timestamp(timestamp):
            for entry in try consumer.offsets(forTimestamp: timestamp, partitions: partitions, timeout: .seconds(10)) {
                let partition = entry.topicPartition.partition
                starts[partition] = entry.offset < 0 ? ends[partition]! : entry.offset
            }
        }
        merger = ReplayMerger(partitions: partitions.map(\.partition))
        for partition in partitions.map(\.partition) {
            if starts[partition]! >= ends[partition]! {
                merger.close(partition)
            } else {
                open.insert(partition)
                totalToRead += Int(ends[partition]! - starts[partition]!)
            }
        }
        logger.info("replaying topic", metadata: [
            "topic": "\(range.topic)",
            "ranges": "\(partitions.map { "\($0.partition):[\(starts[$0.partition]!),\(ends[$0.partition]!))" }.joined(separator: " "))",
        ])
        try consumer.assign(partitions.filter { open.contains($0.partition) }.map {
            KafkaTopicPartitionOffset($0, offset: starts[$0.partition]!)
        })
        var quietSince = ContinuousClock.now
        while !open.isEmpty {
            let handled = try consumer.poll(timeout: .milliseconds(200), handler: self)
            for partition in endsReached where open.contains(partition) { finish(partition) }
            endsReached.removeAll()
            let ready = merger.drain()
            if !ready.isEmpty { try deliver(ready) }
            if handled > 0 {
                quietSince = .now
            } else if ContinuousClock.now - quietSince > .seconds(60) {
                throw ReplaySourceError(description: "no message from \(range.topic) for 60 s with partitions \(open.sorted()) unfinished")
            }
        }
        let rest = merger.drain()
        if !rest.isEmpty { try deliver(rest) }
        try consumer.close()
    }

    func consume(_ batch: KafkaMessageBatch) throws {
        for message in batch {
            let partition = message.partition
            guard open.contains(partition) else { continue }
            messagesRead += 1
            let result = decoder.decode(message.payload)
            var timestamp = lastTimestamp[partition] ?? 0
            if case let .success(event) = result, let own = event.timestamp {
                timestamp = own
            } else if let transport = message.timestampMilliseconds {
                timestamp = transport
            }
            // The seek went by message timestamps; the range itself is in event time.
            if case let .timestamp(start) = range.start, timestamp < start { continue }
            if let limit = range.endTimestamp, timestamp > limit {
                finish(partition)
                continue
            }
            lastTimestamp[partition] = timestamp
            merger.add(ReplayRecord(timestamp: timestamp, partition: partition, offset: message.offset, event: result))
        }
    }

    /// Noted here and acted on after the poll, together with the other partitions' news. An
    /// end before the watermark (a caught-up fetch while the rest is still on its way) does not
    /// close the partition.
    func partitionReachedEnd(_ partition: KafkaTopicPartition, offset: Int64) {
        if let end = ends[partition.partition], offset >= end { endsReached.insert(partition.partition) }
    }

    private func finish(_ partition: Int32) {
        open.remove(partition)
        merger.close(partition)
    }
}
