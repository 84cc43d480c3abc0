import CRdKafka
import Foundation
import Logging

/// What a new topic should look like.
public struct KafkaTopicSpecification: Sendable, Equatable {
    public var name: String
    public var partitions: Int
    public var replicationFactor: Int
    /// Topic-level settings such as `cleanup.policy: compact`.
    public var settings: [String: String]

    public init(name: String, partitions: Int, replicationFactor: Int = 1, settings: [String: String] = [:]) {
        self.name = name
        self.partitions = partitions
        self.replicationFactor = replicationFactor
        self.settings = settings
    }
}

/// Topic administration over the Kafka protocol (CreateTopics, Metadata). Every call blocks up to
/// its timeout; call from a dedicated thread.
public final class KafkaAdmin: Sendable {
    private let client: RDKafkaClient

    public init(bootstrapServers: String, properties: [String: String] = [:], logger: Logger) throws {
        var all = properties
        all["bootstrap.servers"] = bootstrapServers
        self.client = try RDKafkaClient(type: .producer, properties: all, callbacks: RDKafkaCallbacks(logger: logger))
    }

    public func listTopics(timeout: Duration) throws -> [KafkaTopicMetadata] {
        try RDKafkaMetadata.topics(client.handle, timeout: timeout)
    }

    /// Creates the topics; ones that already exist are left as they are. Waits until the new
    /// topics show up in metadata, so producers and consumers created next find them.
    public func createTopics(_ topics: [KafkaTopicSpecification], timeout: Duration) throws {
        guard !topics.isEmpty else { return }
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        var newTopics: [OpaquePointer?] = []
        defer { newTopics.forEach { if let topic = $0 { rd_kafka_NewTopic_destroy(topic) } } }
        for spec in topics {
            var errorBuffer = [CChar](repeating: 0, count: 512)
            guard let topic = rd_kafka_NewTopic_new(spec.name, Int32(spec.partitions), Int32(spec.replicationFactor),
                                                    &errorBuffer, errorBuffer.count) else {
                let reason = String(decoding: errorBuffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
                throw KafkaError(kind: .admin, message: "topic '\(spec.name)': \(reason)")
            }
            newTopics.append(topic)
            for (key, value) in spec.settings.sorted(by: { $0.key < $1.key }) {
                let code = rd_kafka_NewTopic_set_config(topic, key, value)
                guard code == RD_KAFKA_RESP_ERR_NO_ERROR else {
                    throw KafkaError.rdkafka(.admin, code, context: "topic '\(spec.name)' setting '\(key)'")
                }
            }
        }
        let queue = rd_kafka_queue_new(client.handle)
        defer { rd_kafka_queue_destroy(queue) }
        let options = rd_kafka_AdminOptions_new(client.handle, RD_KAFKA_ADMIN_OP_CREATETOPICS)
        defer { rd_kafka_AdminOptions_destroy(options) }
        var errorBuffer = [CChar](repeating: 0, count: 512)
        _ = rd_kafka_AdminOptions_set_operation_timeout(options, Int32(timeout.milliseconds), &errorBuffer, errorBuffer.count)
        _ = rd_kafka_AdminOptions_set_request_timeout(options, Int32(timeout.milliseconds), &errorBuffer, errorBuffer.count)
        newTopics.withUnsafeMutableBufferPointer { buffer in
            rd_kafka_CreateTopics(client.handle, buffer.baseAddress, buffer.count, options, queue)
        }
        guard let event = rd_kafka_queue_poll(queue, Int32(timeout.milliseconds)) else {
            throw KafkaError(kind: .admin, message: "CreateTopics got no answer within \(timeout)")
        }
        defer { rd_kafka_event_destroy(event) }
        let eventError = rd_kafka_event_error(event)
        guard eventError == RD_KAFKA_RESP_ERR_NO_ERROR else {
            let text = rd_kafka_event_error_string(event).map { String(cString: $0) } ?? ""
            throw KafkaError(kind: .admin, message: "CreateTopics failed: \(text)", responseCode: eventError.rawValue)
        }
        guard let result = rd_kafka_event_CreateTopics_result(event) else {
            throw KafkaError(kind: .admin, message: "CreateTopics returned an unexpected event")
        }
        var count = 0
        let results = rd_kafka_CreateTopics_result_topics(result, &count)
        for index in 0..<count {
            guard let topicResult = results?[index] else { continue }
            let code = rd_kafka_topic_result_error(topicResult)
            if code == RD_KAFKA_RESP_ERR_NO_ERROR || code == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS { continue }
            let name = String(cString: rd_kafka_topic_result_name(topicResult))
            let text = rd_kafka_topic_result_error_string(topicResult).map { String(cString: $0) } ?? ""
            throw KafkaError(kind: .admin, message: "creating topic '\(name)': \(text)", responseCode: code.rawValue)
        }
        try waitUntilVisible(topics, deadline: deadline)
    }

    private func waitUntilVisible(_ topics: [KafkaTopicSpecification], deadline: ContinuousClock.Instant) throws {
        let clock = ContinuousClock()
        while true {
            let known = Dictionary(try listTopics(timeout: .seconds(5)).map { ($0.name, $0.partitionCount) },
                                   uniquingKeysWith: { first, _ in first })
            if topics.allSatisfy({ (known[$0.name] ?? 0) > 0 }) { return }
            if clock.now >= deadline {
                let missing = topics.filter { (known[$0.name] ?? 0) == 0 }.map(\.name)
                throw KafkaError(kind: .admin, message: "topics \(missing) not visible in metadata after creation")
            }
            usleep(50_000)
        }
    }
}
