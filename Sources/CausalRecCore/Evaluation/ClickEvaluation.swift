/// The prequential test of one click: where the clicked item stood in the model's top-K (and in
/// the most-clicked list) just before the click was learned.
public struct ClickEvaluation: Sendable, Equatable {
    public var k: Int
    /// 0-based position in the model's top-K, nil when it was not in it.
    public var modelRank: Int?
    /// 0-based position in the most-clicked-so-far top-K (the popularity floor).
    public var popularRank: Int?

    public init(k: Int, modelRank: Int?, popularRank: Int?) {
        self.k = k
        self.modelRank = modelRank
        self.popularRank = popularRank
    }

    /// NDCG@K of a single relevant item: 1 / log2(rank + 2), 0 outside the top-K.
    public static func ndcg(rank: Int?) -> Double {
        guard let rank else { return 0 }
        return 1 / _log2(Double(rank) + 2)
    }
}
