import CausalRecCore
import Kafka

/// Publishes recommendations to the output topic (key = user) in the message format of
/// the message format in README.md. (When a click earns a publication is the engine's decision.)
final class RecommendationPublisher {
    private let sender: OutputSender
    let topic: String
    private let samplerName: String

    init(sender: OutputSender, topic: String, samplerName: String) {
        self.sender = sender
        self.topic = topic
        self.samplerName = samplerName
    }

    /// Returns false when the broker refused the message for good (e.g. larger than the topic
    /// allows): it is dropped with a count and a log line, and the stream goes on.
    @discardableResult
    func publish(_ recommendation: Recommendation, sourcePartition: Int32, sourceOffset: Int64) throws -> Bool {
        let payload = Self.encode(recommendation, sampler: samplerName, source: (sourcePartition, sourceOffset))
        return try sender.send(.recommendations, topic: topic, key: Array(recommendation.user.utf8), value: payload,
                               context: "the answer to input partition \(sourcePartition) offset \(sourceOffset)")
    }

    /// The recommendation message (README.md, "Events and outputs"); `source` (the input message that asked) is
    /// absent for answers to HTTP queries.
    static func encode(_ recommendation: Recommendation, sampler: String, source: (partition: Int32, offset: Int64)?) -> [UInt8] {
        var writer = JSONWriter(reservingCapacity: 64 + recommendation.items.count * 32)
        writer.beginObject()
        writer.field("user", recommendation.user)
        writer.key("items")
        writer.beginArray()
        for entry in recommendation.items {
            writer.beginObject()
            writer.field("item", entry.item)
            writer.field("score", entry.score)
            writer.endObject()
        }
        writer.endArray()
        writer.field("model_version", recommendation.modelVersion)
        writer.field("ts", recommendation.timestamp)
        writer.field("sampler", sampler)
        writer.field("ranking", recommendation.source.rawValue)
        if let source {
            writer.key("source_offset")
            writer.beginObject()
            writer.field("partition", source.partition)
            writer.field("offset", source.offset)
            writer.endObject()
        }
        writer.endObject()
        return writer.bytes
    }
}
