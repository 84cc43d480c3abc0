/// Bounds an event must respect to be accepted (DESIGN.md §2 and the walking-skeleton issue).
public struct EventLimits: Sendable, Equatable, Codable {
    /// Largest accepted message, in bytes.
    public var maxEventBytes: Int = 65_536
    /// Longest user or item id, in UTF-8 bytes.
    public var maxIdentifierBytes: Int = 256
    /// Most items in one impression slate.
    public var maxSlateItems: Int = 1_000
    /// Largest `k` a request may ask for.
    public var maxK: Int = 1_000
    /// How far an event's `ts` may lie ahead of its message's broker timestamp, in seconds.
    public var maxFutureSkewSeconds: Double = 86_400
    /// Nesting depth of unknown fields the decoder will skip.
    public var maxNestingDepth: Int = 32

    /// Timestamps below this look like seconds, not milliseconds (10^11 ms is March 1973).
    public static let smallestMillisecondTimestamp: Int64 = 100_000_000_000
    /// Timestamps above this look like microseconds (10^14 ms is the year 5138).
    public static let largestMillisecondTimestamp: Int64 = 100_000_000_000_000

    public init() {}
}
