/// Answering in ids: a user's top-K from the model (clicked and free rows left out), or the most
/// exposed items for a user without clicks; the most-clicked baseline; and the test of a click.
/// The ranking itself, in rows, is the answering part's (`RankingState`).
extension OnlineRecommender {
    /// The top `k` items for `user`: from the model when the user has clicks, else the most
    /// exposed items. Never empty while any item is known.
    public func recommend(user identifier: String, k: Int, at timestamp: Int64) -> Recommendation {
        recommendation(user: identifier, k: k, at: timestamp, updatingCaches: true, ranker: ranking.ranker)
    }

    /// A ranker for `peekRecommendation`'s scores, owned by its caller. It ranks exactly: the
    /// 8-bit pre-scan keeps its copy current by draining the model's changed rows, which only the
    /// stream's own ranker may do (a second drainer would leave the first one stale).
    public func makeQueryRanker() -> ItemRanker {
        ItemRanker(approximation: ApproximateRanking(minimumItems: 0))
    }

    /// `recommend` without writing anything of the recommender (not the cached popular list, not
    /// its ranking buffers), for queries from outside the event stream: asking must not change
    /// what the stream computes later. The scores are computed in `scratch` (from
    /// `makeQueryRanker`), which belongs to the caller: readers that may run at the same time
    /// each bring their own.
    public func peekRecommendation(user identifier: String, k: Int, at timestamp: Int64, scratch: ItemRanker) -> Recommendation {
        recommendation(user: identifier, k: k, at: timestamp, updatingCaches: false, ranker: scratch)
    }

    private func recommendation(user identifier: String, k: Int, at timestamp: Int64, updatingCaches: Bool,
                                ranker: ItemRanker) -> Recommendation
    {
        if let user = users.row(for: identifier), history.clickCount(of: user) > 0 {
            let (exponent, cold) = ranking.servedExponent(for: user)
            let ranked = ranking.rank(user: user, k: k, exponent: exponent, excluding: exclusions(for: user),
                                      updatingCaches: updatingCaches, ranker: ranker)
            if !ranked.isEmpty {
                return Recommendation(user: identifier,
                                      items: ranked.map { ScoredItem(item: items.identifier(of: $0.item), score: $0.score) },
                                      modelVersion: modelVersion, source: exponent > 0 ? (cold ? .coldStart : .adjusted) : .model,
                                      timestamp: timestamp)
            }
        }
        let popular = ranking.mostExposed(limit: k, freeItems: ExcludedItems(sorted: freeItemsSorted), updatingCache: updatingCaches)
        return Recommendation(user: identifier,
                              items: popular.map { ScoredItem(item: items.identifier(of: $0),
                                                              score: Float(exposure.propensity(of: $0))) },
                              modelVersion: modelVersion, source: .mostExposed, timestamp: timestamp)
    }

    /// The `limit` most exposed items (cached; refreshed every `popularityRefreshEvery` exposures).
    public func mostExposed(limit: Int) -> [Int32] {
        ranking.mostExposed(limit: limit, freeItems: ExcludedItems(sorted: freeItemsSorted), updatingCache: true)
    }

    /// The test of test-then-train: where the model (and the most-clicked list) ranked `item` for
    /// `user` just before the click is learned, recorded in the evaluator.
    func evaluate(user: Int32, item: Int32, eventIndex: Int) -> ClickEvaluation {
        let ranks = ranking.test(user: user, item: item, excluding: exclusions(for: user),
                                 freeItems: ExcludedItems(sorted: freeItemsSorted))
        evaluator.record(eventIndex: eventIndex, modelHit: ranks.modelRank != nil, popularHit: ranks.popularRank != nil)
        return ClickEvaluation(k: configuration.evaluationK, modelRank: ranks.modelRank, popularRank: ranks.popularRank)
    }

    /// The most-popular baseline: top items by click count so far, without the user's clicks.
    public func mostClicked(limit: Int, excluding excluded: ExcludedItems) -> [Int32] {
        ranking.mostClicked(limit: limit, excluding: excluded)
    }

    /// The user's clicks plus the free item rows: what a ranking for the user must leave out.
    func exclusions(for user: Int32) -> ExcludedItems {
        let clicked = history.clicked(by: user)
        guard !freeItemsSorted.isEmpty else { return ExcludedItems(sorted: clicked) }
        var merged: [Int32] = []
        merged.reserveCapacity(clicked.count + freeItemsSorted.count)
        var a = 0, b = 0
        while a < clicked.count || b < freeItemsSorted.count {
            if b == freeItemsSorted.count || (a < clicked.count && clicked[a] < freeItemsSorted[b]) {
                merged.append(clicked[a]); a += 1
            } else if a == clicked.count || freeItemsSorted[b] < clicked[a] {
                merged.append(freeItemsSorted[b]); b += 1
            } else {
                merged.append(clicked[a]); a += 1; b += 1
            }
        }
        return ExcludedItems(sorted: merged)
    }
}
