import Kafka
import Logging

/// The users' changelog on a Kafka topic: records go to the explicit partition of their input
/// partition (clients hash keys differently, so a key partitioner would scatter them), with the
/// stamp in headers (tombstones have no value to carry it); a read assigns the partition without
/// a group and stops at the end-of-partition event, never at the high watermark (some brokers
/// report it below the last batch's end).
final class KafkaChangelog: ChangelogLog {
    static let epochHeader = "causalrec-epoch"
    static let positionHeader = "causalrec-position"

    let topic: String
    private let bootstrapServers: String
    private let properties: [String: String]
    private let producer: KafkaProducer
    private let timeout: Duration
    private let logger: Logger

    init(topic: String, bootstrapServers: String, properties: [String: String], producer: KafkaProducer,
         timeout: Duration = .seconds(30), logger: Logger)
    {
        self.topic = topic
        self.bootstrapServers = bootstrapServers
        self.properties = properties
        self.producer = producer
        self.timeout = timeout
        self.logger = logger
    }

    func append(_ records: [ChangelogRecord], partition: Int32) throws {
        for record in records {
            let headers = Self.headers(record.stamp)
            if let value = record.value {
                try record.key.withUnsafeBytes { key in
                    try value.withUnsafeBytes { value in
                        try producer.send(topic: topic, key: key, value: value, headers: headers, partition: partition)
                    }
                }
            } else {
                try producer.sendTombstone(topic: topic, key: record.key, headers: headers, partition: partition)
            }
        }
        try producer.flush(timeout: timeout)
    }

    @discardableResult
    func read(partition: Int32, from offset: Int64, _ body: (ChangelogRecord) throws -> Void) throws -> Int64 {
        var configuration = KafkaConsumerConfiguration(bootstrapServers: bootstrapServers, groupID: nil)
        configuration.properties.merge(properties) { $1 }
        configuration.properties.removeValue(forKey: "group.instance.id")
        configuration.reportPartitionEnd = true
        // The end of the partition is known only from an empty fetch; the broker holds an empty
        // fetch up to fetch.wait.max.ms (500 ms by default), which a restore waits out in full.
        configuration.properties["fetch.wait.max.ms"] = configuration.properties["fetch.wait.max.ms"] ?? "20"
        let consumer = try KafkaConsumer(configuration: configuration, logger: logger)
        defer { try? consumer.close() }
        try consumer.assign([KafkaTopicPartitionOffset(KafkaTopicPartition(topic: topic, partition: partition), offset: offset)])
        // The reader lives only for this call; it never keeps `body` past it.
        return try withoutActuallyEscaping(body) { body in
            let reader = PartitionReader(partition: partition, body: body)
            let started = ContinuousClock.now
            while reader.end == nil {
                try consumer.poll(timeout: .milliseconds(200), handler: reader)
                if let failure = reader.failure { throw failure }
                if ContinuousClock.now - started > timeout {
                    throw KafkaChangelogError(description: "reading \(topic) partition \(partition) did not reach its end within \(timeout)")
                }
            }
            return reader.end!
        }
    }

    static func headers(_ stamp: ChangelogStamp) -> [KafkaHeader] {
        [KafkaHeader(key: epochHeader, value: littleEndian(stamp.epoch)), KafkaHeader(key: positionHeader, value: littleEndian(stamp.position))]
    }

    /// The stamp of a record's headers; nil when either is missing or malformed (a foreign record).
    static func stamp(_ headers: [KafkaHeader]) -> ChangelogStamp? {
        func value(_ key: String) -> Int64? {
            guard let bytes = headers.last(where: { $0.key == key })?.value, bytes.count == 8 else { return nil }
            return bytes.reversed().reduce(Int64(0)) { $0 << 8 | Int64($1) }
        }
        guard let epoch = value(epochHeader), let position = value(positionHeader) else { return nil }
        return ChangelogStamp(epoch: epoch, position: position)
    }

    private static func littleEndian(_ value: Int64) -> [UInt8] {
        (0..<8).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) }
    }

    /// Hands each record of one partition on, in order, until the end-of-partition event.
    private final class PartitionReader: KafkaConsumerHandler {
        let partition: Int32
        let body: (ChangelogRecord) throws -> Void
        private(set) var end: Int64?
        private(set) var failure: (any Error)?
        private var next: Int64?

        init(partition: Int32, body: @escaping (ChangelogRecord) throws -> Void) {
            self.partition = partition
            self.body = body
        }

        func consume(_ batch: KafkaMessageBatch) throws {
            for message in batch where message.partition == partition && failure == nil {
                next = message.offset + 1
                // A record without a readable stamp cannot be placed in the epoch order: it gets
                // the stamp of a zombie (epoch 0) and a position the restore refuses.
                let stamp = KafkaChangelog.stamp(message.headers) ?? ChangelogStamp(epoch: 0, position: -1)
                let record = ChangelogRecord(key: message.key.map { Array($0) } ?? [],
                                             value: message.hasNullPayload ? nil : Array(message.payload), stamp: stamp)
                do { try body(record) } catch { failure = error }
            }
        }

        func partitionReachedEnd(_ partition: KafkaTopicPartition, offset: Int64) {
            guard partition.partition == self.partition, end == nil else { return }
            // The end event follows every message before it in the same poll: the end offset is
            // at or past the last one handed on.
            end = max(offset, next ?? offset)
        }
    }
}

struct KafkaChangelogError: Error, CustomStringConvertible {
    let description: String
}
