import Kafka
import Logging

/// A one-partition Kafka topic of item deltas (or of item snapshots). One consumer (no group) stays assigned between
/// reads, so the periodic read costs one non-blocking poll; a read to the end re-assigns its start,
/// which makes the client report the end of the partition again, and stops at that report (never
/// at the high watermark, which some brokers report below the last batch's end).
final class KafkaItemDeltaLog: ItemDeltaLog {
    let topic: String
    private let producer: KafkaProducer
    private let consumer: KafkaConsumer
    private let timeout: Duration
    /// The offset the consumer reads next, when it is positioned.
    private var next: Int64?

    init(topic: String, bootstrapServers: String, properties: [String: String], producer: KafkaProducer,
         timeout: Duration = .seconds(30), logger: Logger) throws
    {
        self.topic = topic
        self.producer = producer
        self.timeout = timeout
        var configuration = KafkaConsumerConfiguration(bootstrapServers: bootstrapServers, groupID: nil)
        configuration.properties.merge(properties) { $1 }
        configuration.reportPartitionEnd = true
        configuration.properties["fetch.wait.max.ms"] = configuration.properties["fetch.wait.max.ms"] ?? "20"
        consumer = try KafkaConsumer(configuration: configuration, logger: logger)
    }

    deinit {
        try? consumer.close()
    }

    func append(_ values: [[UInt8]], key: String) throws {
        let keyBytes = Array(key.utf8)
        for value in values {
            try keyBytes.withUnsafeBytes { key in
                try value.withUnsafeBytes { value in
                    try producer.send(topic: topic, key: key, value: value, headers: [], partition: 0)
                }
            }
        }
        try producer.flush(timeout: timeout)
    }

    func read(from offset: Int64, toEnd: Bool, _ body: ([UInt8]) throws -> Void) throws -> Int64 {
        if toEnd || next != offset {
            try consumer.assign([KafkaTopicPartitionOffset(KafkaTopicPartition(topic: topic, partition: 0), offset: offset)])
            next = offset
        }
        return try withoutActuallyEscaping(body) { body in
            let reader = Reader(start: offset, body: body)
            let started = ContinuousClock.now
            repeat {
                let handed = try consumer.poll(timeout: toEnd ? .milliseconds(50) : .zero, handler: reader)
                if let failure = reader.failure {
                    next = nil
                    throw failure
                }
                if !toEnd && handed == 0 { break }
                if toEnd && ContinuousClock.now - started > timeout {
                    next = nil
                    throw KafkaChangelogError(description: "reading \(topic) did not reach its end within \(timeout)")
                }
            } while !toEnd || !reader.reachedEnd
            next = reader.next
            return reader.next
        }
    }

    private final class Reader: KafkaConsumerHandler {
        let body: ([UInt8]) throws -> Void
        private(set) var next: Int64
        private(set) var reachedEnd = false
        private(set) var failure: (any Error)?

        init(start: Int64, body: @escaping ([UInt8]) throws -> Void) {
            next = start
            self.body = body
        }

        func consume(_ batch: KafkaMessageBatch) throws {
            for message in batch where message.partition == 0 && failure == nil {
                next = message.offset + 1
                do { try body(Array(message.payload)) } catch { failure = error }
            }
        }

        func partitionReachedEnd(_ partition: KafkaTopicPartition, offset: Int64) {
            reachedEnd = true
            next = max(next, offset)
        }
    }
}
