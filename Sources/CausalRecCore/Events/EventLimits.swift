/// Bounds an event must respect to be accepted (the event schema in README.md).
public struct EventLimits: Sendable, Equatable, Codable {
    /// Largest accepted message, in bytes.
    public var maxEventBytes: Int = 65_536
    /// Longest user or item id, in UTF-8 bytes.
    public var maxIdentifierBytes: Int = 256
    /// Most items in one impression slate.
    public var maxSlateItems: Int = 1_000
    /// Largest `k` a request may ask for.
    public var maxK: Int = 1_000
    /// How far an event's time may lie ahead of the consumer's clock (and its `ts` ahead of its
    /// message's broker timestamp), in seconds. Ten minutes: clocks of a healthy fleet agree far
    /// better, and the event clock's own step (`EventClock.maxStep`) is the same.
    public var maxFutureSkewSeconds: Double = 600
    /// Nesting depth of unknown fields the decoder will skip.
    public var maxNestingDepth: Int = 32

    /// Timestamps below this look like seconds, not milliseconds (10^11 ms is March 1973).
    public static let smallestMillisecondTimestamp: Int64 = 100_000_000_000
    /// Timestamps above this look like microseconds (10^14 ms is the year 5138).
    public static let largestMillisecondTimestamp: Int64 = 100_000_000_000_000

    public init() {}
}
