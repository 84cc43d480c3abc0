/// Everything that determines how the online recommender learns and answers. Together with the
/// input stream and `seed` it determines every output bit for bit.
public struct RecommenderConfiguration: Sendable, Equatable {
    public var model = ModelConfiguration()
    public var exposure = ExposureConfiguration()
    public var sampler = SamplerConfiguration()
    /// Clicks per training batch (one model version per batch).
    public var trainingBatchSize: Int = 64
    /// Recent positives drawn again per new positive in each batch (0 = train on each click
    /// once; config key `model.replay_per_positive`). A single streaming pass sees each click
    /// once; drawing recent ones again gives the sparse rows more steps without waiting for new
    /// data.
    public var recentPositivesPerPositive: Int = 3
    /// Recent positives kept for that (a ring buffer; config key `model.replay_capacity`).
    public var recentPositivesCapacity: Int = 100_000
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
    /// Which users and items get rows, and when rows are given back.
    public var retention = RetentionConfiguration()
    /// Exposure as a confounder in training and ranking.
    public var deconfounding = DeconfoundingConfiguration()
    /// The 8-bit pre-scan of large catalogues.
    public var approximateRanking = ApproximateRanking()
    /// Share of (user, item) impressions kept in the users' shown-items history, which the
    /// samplers read; the exposure estimate always counts every impression. Below 1 only for
    /// evaluations of samplers where impressions are scarce (`shift-eval --impression-share`); the
    /// choice is a hash of user, item and time, so it draws nothing from the random stream.
    public var sampledImpressionShare: Double = 1
    /// Instances share item state (several instances in one group): item click counts and
    /// exposure follow the stream, not the users held here (a user given back or moved keeps
    /// its clicks in the counts), and the changes of items are kept for publication
    /// (`OnlineRecommender.takeItemChanges`).
    public var sharesItems = false

    public init() {}
}

/// Bounded memory: an id gets a row only after it has been seen a few times, and a
/// row idle for long enough (in event time) is evicted and its row reused, so a stream whose users
/// and items come and go keeps a bounded state; past a row limit the least recently seen rows go.
public struct RetentionConfiguration: Sendable, Equatable {
    /// Events naming a user before the user gets a row (1 = at once). Until then the user's
    /// clicks only count towards admission (and requests get the most-exposed items).
    public var userAdmitAfter = 1
    /// Events naming an item before it gets a row (1 = at once).
    public var itemAdmitAfter = 1
    /// Event-time seconds without an event before a user's row is evicted (0 = never).
    public var userIdleSeconds: Double = 0
    /// Event-time seconds without an impression or click before an item's row is evicted (0 = never).
    public var itemIdleSeconds: Double = 0
    /// Event-time seconds an id waiting for admission is remembered without being seen again.
    public var admissionMemorySeconds: Double = 86_400
    /// Applied events between eviction sweeps.
    public var sweepEvery = 10_000
    /// Users with a row at most (0 = no limit). Past it the least recently seen users are
    /// evicted, so the state stays bounded whatever the stream's id space; ~1 KB per user row.
    public var maxUsers = 500_000
    /// Items with a row at most (0 = no limit), as `maxUsers`; ~1.2 KB per item row.
    public var maxItems = 200_000

    public init() {}

    /// Whether admission or idle eviction is switched on (otherwise the recommender skips their
    /// bookkeeping; the row limits are always kept).
    public var isActive: Bool {
        userAdmitAfter > 1 || itemAdmitAfter > 1 || userIdleSeconds > 0 || itemIdleSeconds > 0
    }
}

/// Counts of valid events applied to state.
public struct AppliedEventCounts: Sendable, Equatable, Codable {
    public var impressions: Int = 0
    public var clicks: Int = 0
    public var requests: Int = 0
    /// `forget` events (not in `total`, which counts what the model learns from and answers).
    public var forgets: Int = 0

    public var total: Int { impressions + clicks + requests }

    public init() {}
}
