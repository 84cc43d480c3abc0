/// Offline top-K metrics as the field computes them (full ranking over all items, the user's
/// training items masked, binary relevance).
public struct RankingMetrics: Sendable, Equatable, Codable {
    public var recall10: Double = 0
    public var ndcg10: Double = 0
    public var recall20: Double = 0
    public var ndcg20: Double = 0
    /// Share of all items that appear in at least one user's top-20.
    public var coverage20: Double = 0
    /// Mean training click count of the recommended items (per user, then over users).
    public var averagePopularity20: Double = 0
    /// Gini coefficient of how often each item appears in the top-20 lists (0 = even, 1 = one item).
    public var gini20: Double = 0
    /// Users with at least one test item.
    public var users: Int = 0

    public init() {}

    /// The names used in reports.
    public var dictionary: [String: Double] {
        ["recall@10": recall10, "ndcg@10": ndcg10, "recall@20": recall20, "ndcg@20": ndcg20,
         "coverage@20": coverage20, "avg_pop@20": averagePopularity20, "gini@20": gini20]
    }

    /// Recall@K for one user: hits in the top K over the number of relevant items.
    public static func recall(ranked: [Int32], relevant: ExcludedItems, k: Int) -> Double {
        guard !relevant.isEmpty else { return 0 }
        let hits = ranked.prefix(k).reduce(0) { $0 + (relevant.contains($1) ? 1 : 0) }
        return Double(hits) / Double(relevant.sorted.count)
    }

    /// NDCG@K for one user with binary relevance; the ideal DCG counts min(|relevant|, K) hits.
    public static func ndcg(ranked: [Int32], relevant: ExcludedItems, k: Int) -> Double {
        guard !relevant.isEmpty else { return 0 }
        var dcg = 0.0
        for (position, item) in ranked.prefix(k).enumerated() where relevant.contains(item) {
            dcg += 1 / _log2(Double(position + 2))
        }
        var ideal = 0.0
        for position in 0..<min(relevant.sorted.count, k) {
            ideal += 1 / _log2(Double(position + 2))
        }
        return dcg / ideal
    }

    /// Gini coefficient of non-negative counts (sorted ascending: Σ(2i − n − 1)·x_i / (n·Σx)).
    public static func gini(_ counts: [Double]) -> Double {
        let total = counts.reduce(0, +)
        guard total > 0, counts.count > 1 else { return 0 }
        let sorted = counts.sorted()
        let n = Double(sorted.count)
        var weighted = 0.0
        for (index, value) in sorted.enumerated() {
            weighted += (2 * Double(index + 1) - n - 1) * value
        }
        return weighted / (n * total)
    }
}

@inline(__always) func _log2(_ x: Double) -> Double { _log(x) / 0.693_147_180_559_945_3 }
