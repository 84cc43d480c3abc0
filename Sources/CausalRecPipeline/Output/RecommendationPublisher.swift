import CausalRecCore
import Kafka

/// Publishes recommendations to the output topic (key = user) in the message format of
/// DESIGN.md §2, and decides when a click earns a fresh publication.
final class RecommendationPublisher {
    private let sender: OutputSender
    let topic: String
    private let samplerName: String
    private let policy: PipelineConfiguration.Publishing
    /// Event time of the last click-triggered publication per user (only with `onClick`).
    private var lastClickPublication: [String: Int64] = [:]
    private var lastPrunedAt: Int64 = 0

    init(sender: OutputSender, topic: String, samplerName: String, policy: PipelineConfiguration.Publishing) {
        self.sender = sender
        self.topic = topic
        self.samplerName = samplerName
        self.policy = policy
    }

    /// Returns false when the broker refused the message for good (e.g. larger than the topic
    /// allows): it is dropped with a count and a log line, and the stream goes on.
    @discardableResult
    func publish(_ recommendation: Recommendation, sourcePartition: Int32, sourceOffset: Int64) throws -> Bool {
        let payload = Self.encode(recommendation, sampler: samplerName, source: (sourcePartition, sourceOffset))
        return try sender.send(.recommendations, topic: topic, key: Array(recommendation.user.utf8), value: payload,
                               context: "the answer to input partition \(sourcePartition) offset \(sourceOffset)")
    }

    /// Whether a click by `user` at event time `timestamp` should trigger a publication (at most
    /// one per user per `clickMinIntervalSeconds`).
    func shouldPublishAfterClick(user: String, at timestamp: Int64) -> Bool {
        guard policy.onClick else { return false }
        let interval = Int64(policy.clickMinIntervalSeconds * 1_000)
        if let last = lastClickPublication[user], timestamp - last < interval {
            return false
        }
        lastClickPublication[user] = timestamp
        // Keep the map bounded by dropping users whose interval has passed anyway.
        if lastClickPublication.count > 100_000 && timestamp - lastPrunedAt > interval {
            lastClickPublication = lastClickPublication.filter { timestamp - $0.value < interval }
            lastPrunedAt = timestamp
        }
        return true
    }

    // MARK: State

    func writeState(to writer: inout StateWriter) {
        let users = lastClickPublication.keys.sorted()
        writer.write(users.count)
        for user in users {
            writer.write(user)
            writer.write(lastClickPublication[user]!)
        }
        writer.write(lastPrunedAt)
    }

    /// What `writeState` wrote, checked; `restore` applies it.
    struct SavedState {
        var lastClickPublication: [String: Int64]
        var lastPrunedAt: Int64
    }

    static func readState(from reader: inout StateReader) throws -> SavedState {
        let count = try reader.readCount(elementSize: 16, "click publication times")
        var restored: [String: Int64] = [:]
        restored.reserveCapacity(count)
        var previous: String?
        for _ in 0..<count {
            let user = try reader.readString()
            guard previous.map({ $0 < user }) ?? true else { throw StateReadError("click publication times: users are not sorted and unique") }
            previous = user
            restored[user] = try reader.readTime("a click publication time")
        }
        return SavedState(lastClickPublication: restored, lastPrunedAt: try reader.readTime("the last pruning time"))
    }

    func restore(_ state: SavedState) {
        lastClickPublication = state.lastClickPublication
        lastPrunedAt = state.lastPrunedAt
    }

    /// The recommendation message of DESIGN.md §2; `source` (the input message that asked) is
    /// absent for answers to HTTP queries.
    static func encode(_ recommendation: Recommendation, sampler: String, source: (partition: Int32, offset: Int64)?) -> [UInt8] {
        var writer = JSONWriter(reservingCapacity: 64 + recommendation.items.count * 32)
        writer.beginObject()
        writer.key("user")
        writer.string(recommendation.user)
        writer.key("items")
        writer.beginArray()
        for entry in recommendation.items {
            writer.beginObject()
            writer.key("item")
            writer.string(entry.item)
            writer.key("score")
            writer.number(entry.score)
            writer.endObject()
        }
        writer.endArray()
        writer.key("model_version")
        writer.integer(recommendation.modelVersion)
        writer.key("ts")
        writer.integer(recommendation.timestamp)
        writer.key("sampler")
        writer.string(sampler)
        writer.key("ranking")
        writer.string(recommendation.source.rawValue)
        if let source {
            writer.key("source_offset")
            writer.beginObject()
            writer.key("partition")
            writer.integer(source.partition)
            writer.key("offset")
            writer.integer(source.offset)
            writer.endObject()
        }
        writer.endObject()
        return writer.bytes
    }
}
