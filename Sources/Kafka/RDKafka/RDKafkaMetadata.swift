import CRdKafka

/// A topic as the cluster describes it.
public struct KafkaTopicMetadata: Sendable, Equatable {
    public var name: String
    public var partitionCount: Int

    public init(name: String, partitionCount: Int) {
        self.name = name
        self.partitionCount = partitionCount
    }
}

enum RDKafkaMetadata {
    /// Blocking metadata request for all topics (or one), with the broker round trip bounded.
    static func topics(_ handle: OpaquePointer, only topic: String? = nil, timeout: Duration) throws -> [KafkaTopicMetadata] {
        var metadata: UnsafePointer<rd_kafka_metadata>?
        var topicHandle: OpaquePointer?
        if let topic {
            topicHandle = rd_kafka_topic_new(handle, topic, nil)
        }
        defer { if let topicHandle { rd_kafka_topic_destroy(topicHandle) } }
        let code = rd_kafka_metadata(handle, topic == nil ? 1 : 0, topicHandle, &metadata, Int32(timeout.milliseconds))
        guard code == RD_KAFKA_RESP_ERR_NO_ERROR, let metadata else {
            throw KafkaError.rdkafka(.admin, code, context: "metadata request")
        }
        defer { rd_kafka_metadata_destroy(metadata) }
        var result: [KafkaTopicMetadata] = []
        for index in 0..<Int(metadata.pointee.topic_cnt) {
            let entry = metadata.pointee.topics[index]
            guard entry.err == RD_KAFKA_RESP_ERR_NO_ERROR else { continue }
            result.append(KafkaTopicMetadata(name: String(cString: entry.topic), partitionCount: Int(entry.partition_cnt)))
        }
        return result.sorted { $0.name < $1.name }
    }
}
