/// The recommender's answering part: ranks items for a user by the model (g(x)·r̃^γ̃ when an
/// exposure adjustment is on), keeps the popular lists for users without clicks and for the
/// most-popular baseline, and chooses γ̃ online when candidates are configured. Everything here is
/// in row numbers; the recommender turns rows into ids.
///
/// It owns the stream's ranker (whose 8-bit copy follows the model's changed rows), the cached
/// popular lists, the exposure adjustment and the exponent selectors; it reads the model, the
/// history and the exposure estimate.
package final class RankingState {
    let configuration: RecommenderConfiguration
    /// The recommender's tables this part reads (and, for training, writes the model of).
    let tables: SharedTables
    /// The stream's ranker: the only one that drains the model's changed rows (queries bring their
    /// own, see `OnlineRecommender.makeQueryRanker`).
    let ranker: ItemRanker
    var mostExposedCache = RankedCache()
    var mostClickedCache = RankedCache()
    /// Log relative exposure per item, for ranking by intervention (PDA's adjusted ranking).
    var adjustment = ExposureAdjustment()
    /// γ̃ for users with enough clicks, and for users with few.
    package internal(set) var rankingExponent: RankingExponentSelector
    package internal(set) var coldStartExponent: RankingExponentSelector

    init(configuration: RecommenderConfiguration, tables: SharedTables) {
        self.configuration = configuration
        self.tables = tables
        ranker = ItemRanker(approximation: configuration.approximateRanking)
        let deconfounding = configuration.deconfounding
        rankingExponent = RankingExponentSelector(candidates: deconfounding.onlineRankingExponents,
                                                  fallback: deconfounding.rankingExponent, horizon: deconfounding.onlineHorizon)
        coldStartExponent = RankingExponentSelector(candidates: deconfounding.onlineColdStartExponents,
                                                    fallback: deconfounding.coldStartExponent, horizon: deconfounding.onlineHorizon)
    }

    /// γ̃ for `user` now: the cold-start one below `coldStartClicks` clicks (second: true).
    func servedExponent(for user: Int32) -> (exponent: Double, cold: Bool) {
        if tables.history.clickCount(of: user) < configuration.deconfounding.coldStartClicks { return (coldStartExponent.chosen, true) }
        return (rankingExponent.chosen, false)
    }

    /// The user's top-K by g(x)·r^γ̃ (by x when γ̃ = 0), in `ranker` (the stream's own, or a
    /// query's); `updatingCaches` false writes nothing of this part.
    func rank(user: Int32, k: Int, exponent: Double, excluding excluded: ExcludedItems, updatingCaches: Bool,
              ranker: ItemRanker) -> [TopKSelector<Float>.Entry]
    {
        guard exponent > 0 else { return ranker.topK(user: user, k: k, model: tables.model, excluding: excluded) }
        let current = currentAdjustment(updatingCaches: updatingCaches)
        return ranker.topK(user: user, k: k, model: tables.model, excluding: excluded) { scores, count in
            current.adjust(scores, count: count, exponent: exponent)
        }
    }

    /// The exposure adjustment brought up to date (and kept, when the caller may change state).
    private func currentAdjustment(updatingCaches: Bool) -> ExposureAdjustment {
        var current = adjustment
        current.refresh(from: tables.exposure, floor: configuration.deconfounding.exposureFloor, refreshEvery: configuration.popularityRefreshEvery)
        if updatingCaches { adjustment = current }
        return current
    }

    /// The `limit` most exposed items (cached; refreshed every `popularityRefreshEvery`
    /// exposures), padded with other rows in use when fewer items were exposed, so a known
    /// catalogue never gives an empty answer.
    func mostExposed(limit: Int, freeItems: ExcludedItems, updatingCache: Bool) -> [Int32] {
        let exposure = tables.exposure
        let compute = { (size: Int) in exposure.mostExposed(limit: size) }
        let items = updatingCache
            ? mostExposedCache.items(limit: limit, version: tables.exposure.recordedCount,
                                     refreshEvery: configuration.popularityRefreshEvery, compute: compute)
            : mostExposedCache.peek(limit: limit, version: tables.exposure.recordedCount,
                                    refreshEvery: configuration.popularityRefreshEvery, compute: compute)
        if items.count >= min(limit, tables.exposure.itemCount) { return Array(items.prefix(limit)) }
        var result = items
        var seen = Set(items)
        var row: Int32 = 0
        while result.count < limit && Int(row) < tables.exposure.itemCount {
            if !freeItems.contains(row) && seen.insert(row).inserted { result.append(row) }
            row += 1
        }
        return result
    }

    /// The most-popular baseline: top items by click count so far, without `excluded`.
    func mostClicked(limit: Int, excluding excluded: ExcludedItems) -> [Int32] {
        let candidates = mostClickedCache.items(limit: limit + min(excluded.sorted.count, 1_000), version: tables.history.totalClicks,
                                                refreshEvery: configuration.popularityRefreshEvery) { size in
            tables.history.mostClicked(limit: size)
        }
        var result: [Int32] = []
        result.reserveCapacity(limit)
        for item in candidates where !excluded.contains(item) {
            result.append(item)
            if result.count == limit { break }
        }
        return result
    }

    /// Where the model (and the most-clicked list) ranked `item` for `user` just before the click
    /// is learned: the test of test-then-train. With candidate exponents each is tested too, and
    /// the online choice learns from it.
    func test(user: Int32, item: Int32, excluding excluded: ExcludedItems, freeItems: ExcludedItems)
        -> (modelRank: Int?, popularRank: Int?)
    {
        let k = configuration.evaluationK
        let clicked = ExcludedItems(sorted: tables.history.clicked(by: user))
        let modelRank: Int?
        if clicked.isEmpty {
            modelRank = mostExposed(limit: k, freeItems: freeItems, updatingCache: true).firstIndex(of: item)
        } else {
            let (exponent, cold) = servedExponent(for: user)
            modelRank = rank(user: user, k: k, exponent: exponent, excluding: excluded, updatingCaches: true, ranker: ranker)
                .firstIndex { $0.item == item }
            var selector = cold ? coldStartExponent : rankingExponent
            if !selector.candidates.isEmpty {
                let raw = ranker.rawScores(user: user, model: tables.model)
                let adjustment = currentAdjustment(updatingCaches: true)
                selector.record(hits: selector.candidates.map {
                    adjustment.rank(of: item, rawScores: raw, count: tables.model.itemCount, exponent: $0, k: k, excluding: excluded) != nil
                })
                if cold { coldStartExponent = selector } else { rankingExponent = selector }
            }
        }
        let popularRank = mostClicked(limit: k, excluding: clicked).firstIndex(of: item)
        return (modelRank, popularRank)
    }

    /// After rows were released the cached lists may name a free item or count a forgotten user's
    /// clicks: both are recomputed at their next use.
    func rowsReleased() {
        mostExposedCache = RankedCache()
        mostClickedCache = RankedCache()
    }
}
