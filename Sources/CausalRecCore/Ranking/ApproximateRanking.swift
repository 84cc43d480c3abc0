/// When the ranking pre-scans an 8-bit copy of the item table instead of scoring every fp32 row:
/// catalogues of at least `minimumItems` items; the best `candidates` by the approximate score
/// are then scored exactly (fp32) and the top K of those is the answer. Below the threshold, and
/// for rankings adjusted by exposure, every row is scored exactly.
public struct ApproximateRanking: Sendable, Equatable {
    /// 0 = never approximate.
    public var minimumItems: Int = 100_000
    /// Exactly re-scored candidates (at least 8·K are taken for larger K).
    public var candidates: Int = 400

    public init(minimumItems: Int = 100_000, candidates: Int = 400) {
        self.minimumItems = minimumItems
        self.candidates = candidates
    }

    public func applies(to items: Int) -> Bool { minimumItems > 0 && items >= minimumItems }
}
