/// What one instance changed of one item since its last publication, in terms every instance can
/// add to its own copy: the item is named by id (each instance gives it its own row), and every
/// field is a difference, so instances that add the same set of deltas hold the same item,
/// whatever order the deltas came in (up to floating-point rounding).
///
/// Training's changes (embedding, bias) and counted events (clicks, exposure) come in separate
/// deltas: counts are kept per `source`, the input the events came from, so that a receiver can
/// refuse one source's counts (from an owner that lost it) and keep the rest.
public struct ItemDelta: Sendable, Equatable {
    public var item: String
    /// The input (partition) the counts came from; nil for a delta of training only.
    public var source: Int32?
    /// Change of the item's click count (negative after a `forget`).
    public var clicks: Int32
    /// Exposure added, as a weight at the changes' `exposureTime` (see `ItemChanges`).
    public var exposure: Double
    public var bias: Float
    /// Change of the embedding, `dimension` values; empty when training did not touch the row.
    public var embedding: [Float]

    public init(item: String, source: Int32? = nil, clicks: Int32 = 0, exposure: Double = 0, bias: Float = 0, embedding: [Float] = []) {
        self.item = item
        self.source = source
        self.clicks = clicks
        self.exposure = exposure
        self.bias = bias
        self.embedding = embedding
    }
}

/// The item deltas of one publication, with the event time their exposure weights are given at,
/// the recommender's model version when they were taken (the receivers' version never goes back
/// past it: a Lamport clock across instances) and whether the writer had applied an impression.
public struct ItemChanges: Sendable, Equatable {
    public var items: [ItemDelta]
    public var exposureTime: Int64
    public var modelVersion: Int64
    /// With `exposure.source: auto`, clicks count as exposure only until the first impression.
    /// That moment belongs to the group, not to one instance: a new instance whose first events
    /// are clicks (its partition's position fell between an impression and its clicks) would
    /// otherwise count them as exposure after the others had stopped, and every instance would
    /// add that exposure.
    public var impressionsSeen: Bool

    public init(items: [ItemDelta] = [], exposureTime: Int64 = 0, modelVersion: Int64 = 0, impressionsSeen: Bool = false) {
        self.items = items
        self.exposureTime = exposureTime
        self.modelVersion = modelVersion
        self.impressionsSeen = impressionsSeen
    }

    public var isEmpty: Bool { items.isEmpty }
}
