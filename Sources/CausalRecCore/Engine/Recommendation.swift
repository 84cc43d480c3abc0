/// An item with the score it was ranked by.
public struct ScoredItem: Sendable, Equatable {
    public var item: String
    public var score: Float

    public init(item: String, score: Float) {
        self.item = item
        self.score = score
    }
}

/// A ranked list for one user.
public struct Recommendation: Sendable, Equatable {
    /// Where the ranking came from.
    public enum Source: String, Sendable, Equatable {
        /// The user's embedding scored against every item (deconfounded: exposure left out).
        case model
        /// The model's score times the item's current exposure to the power γ̃ (PDA's adjusted ranking).
        case adjusted
        /// A user with few clicks: the adjusted ranking with the cold-start exponent.
        case coldStart = "cold_start"
        /// The user has no clicks yet: the most exposed items (score = propensity).
        case mostExposed = "most_exposed"
    }

    public var user: String
    public var items: [ScoredItem]
    /// Training batches applied to the model that produced it.
    public var modelVersion: Int64
    public var source: Source
    /// Event time of the request it answers (epoch ms).
    public var timestamp: Int64

    public init(user: String, items: [ScoredItem], modelVersion: Int64, source: Source, timestamp: Int64) {
        self.user = user
        self.items = items
        self.modelVersion = modelVersion
        self.source = source
        self.timestamp = timestamp
    }
}
