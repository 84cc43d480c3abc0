import Foundation
import Kafka
import Logging
import Synchronization

/// Shared pieces of the Kafka tests: a quiet logger, group settings that join quickly on the mock
/// cluster, and a handler that records what it receives.
public enum TestKafka {
    public static let logger: Logger = {
        var logger = Logger(label: "kafka-tests")
        logger.logLevel = ProcessInfo.processInfo.environment["KAFKA_TEST_LOG"].flatMap(Logger.Level.init(rawValue:)) ?? .warning
        return logger
    }()

    public static func consumerConfiguration(_ bootstrap: String, group: String?) -> KafkaConsumerConfiguration {
        var configuration = KafkaConsumerConfiguration(bootstrapServers: bootstrap, groupID: group)
        // Without these a join on the mock cluster (or tansu) takes ~23 s.
        configuration.sessionTimeoutMilliseconds = 6_000
        configuration.maxPollIntervalMilliseconds = 10_000
        configuration.heartbeatIntervalMilliseconds = 1_000
        return configuration
    }

    public static func uniqueName(_ prefix: String) -> String {
        "\(prefix)-\(UUID().uuidString.prefix(8))"
    }
}

/// Records messages and rebalance events in the order the consumer reports them.
public final class RecordingHandler: KafkaConsumerHandler, @unchecked Sendable {
    public enum Event: Hashable {
        case message(partition: Int32, offset: Int64, value: String)
        case assigned([KafkaTopicPartition])
        case revoked([KafkaTopicPartition])
        case end(KafkaTopicPartition)
    }

    public private(set) var events: [Event] = []
    public var headersSeen: [[KafkaHeader]] = []
    public var keysSeen: [String?] = []
    public var payloads: [[UInt8]] = []
    public var batchSizes: [Int] = []
    public var onRevoke: (([KafkaTopicPartition]) -> Void)?
    public var startOffsets: [KafkaTopicPartition: Int64] = [:]

    public init() {}

    public func consume(_ batch: KafkaMessageBatch) throws {
        batchSizes.append(batch.count)
        for message in batch {
            events.append(.message(partition: message.partition, offset: message.offset,
                                   value: String(decoding: message.payload, as: UTF8.self)))
            headersSeen.append(message.headers)
            keysSeen.append(message.keyString)
            payloads.append(Array(message.payload))
        }
    }

    public func partitionsAssigned(_ partitions: [KafkaTopicPartition]) -> [KafkaTopicPartition: Int64] {
        events.append(.assigned(partitions.sorted()))
        return startOffsets
    }

    public func partitionsWillBeRevoked(_ partitions: [KafkaTopicPartition], lost: Bool) {
        events.append(.revoked(partitions.sorted()))
        onRevoke?(partitions)
    }

    public func partitionReachedEnd(_ partition: KafkaTopicPartition, offset: Int64) {
        events.append(.end(partition))
    }

    public var messages: [(partition: Int32, offset: Int64, value: String)] {
        events.compactMap {
            if case let .message(partition, offset, value) = $0 { return (partition, offset, value) }
            return nil
        }
    }

    public var currentAssignment: Set<KafkaTopicPartition> {
        var result = Set<KafkaTopicPartition>()
        for event in events {
            switch event {
            case let .assigned(partitions): result.formUnion(partitions)
            case let .revoked(partitions): result.subtract(partitions)
            default: break
            }
        }
        return result
    }
}

extension KafkaConsumer {
    /// Polls until `condition` holds or `timeout` passes; returns whether it held.
    public func poll(until condition: () -> Bool, handler: some KafkaConsumerHandler, timeout: Duration = .seconds(30)) throws -> Bool {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        while clock.now < deadline {
            if condition() { return true }
            try poll(timeout: .milliseconds(100), handler: handler)
        }
        return condition()
    }
}

/// Keeps every log line (level, message, metadata) for assertions on what was logged.
public final class CapturingLogHandler: LogHandler, @unchecked Sendable {
    public let lines = Mutex<[String]>([])
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .trace

    public init() {}

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        lines.withLock { $0.append("\(event.level) \(event.message) \(event.metadata ?? [:])") }
    }
}
