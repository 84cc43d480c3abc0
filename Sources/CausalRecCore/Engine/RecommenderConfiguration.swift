/// Everything that determines how the online recommender learns and answers. Together with the
/// input stream and `seed` it determines every output bit for bit.
public struct RecommenderConfiguration: Sendable, Equatable {
    public var model = ModelConfiguration()
    public var exposure = ExposureConfiguration()
    public var sampler = SamplerConfiguration()
    /// Clicks per training batch (one model version per batch).
    public var trainingBatchSize: Int = 64
    /// Past positives replayed per new positive in each batch (0 = train on each click once).
    /// A single streaming pass sees each click once; replaying recent ones gives the sparse rows
    /// more steps without waiting for new data.
    public var replayPerPositive: Int = 3
    /// Recent positives kept for replay (a ring buffer).
    public var replayCapacity: Int = 100_000
    /// k of a request that does not say.
    public var defaultRequestK: Int = 20
    /// K of the prequential hit-rate.
    public var evaluationK: Int = 20
    /// Evaluate every n-th click (ranking all items costs O(items) per evaluated click); 0 = never.
    public var evaluateEveryNthClick: Int = 10
    /// Evaluated clicks per reported window.
    public var evaluationWindow: Int = 100
    /// Recompute the cached most-exposed / most-clicked lists after this many new observations.
    public var popularityRefreshEvery: Int = 1_000
    /// Seed of the recommender's random stream (negative sampling).
    public var seed: UInt64 = 42

    public init() {}
}

/// Counts of valid events applied to state.
public struct AppliedEventCounts: Sendable, Equatable, Codable {
    public var impressions: Int = 0
    public var clicks: Int = 0
    public var requests: Int = 0

    public var total: Int { impressions + clicks + requests }
}
