/// Answering: a user's top-K from the model (clicked and free rows left out), or the most exposed
/// items for a user without clicks; the most-clicked baseline; and the test of a click.
extension OnlineRecommender {
    /// The top `k` items for `user`: from the model when the user has clicks, else the most
    /// exposed items. Never empty while any item is known.
    public func recommend(user identifier: String, k: Int, at timestamp: Int64) -> Recommendation {
        recommendation(user: identifier, k: k, at: timestamp, updatingCaches: true, ranker: ranker)
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
            let (exponent, cold) = servedExponent(for: user)
            let ranked = rankForUser(user, k: k, exponent: exponent, updatingCaches: updatingCaches, ranker: ranker)
            if !ranked.isEmpty {
                return Recommendation(user: identifier,
                                      items: ranked.map { ScoredItem(item: items.identifier(of: $0.item), score: $0.score) },
                                      modelVersion: modelVersion, source: exponent > 0 ? (cold ? .coldStart : .adjusted) : .model,
                                      timestamp: timestamp)
            }
        }
        let popular = mostExposed(limit: k, updatingCache: updatingCaches)
        return Recommendation(user: identifier,
                              items: popular.map { ScoredItem(item: items.identifier(of: $0),
                                                              score: Float(exposure.propensity(of: $0))) },
                              modelVersion: modelVersion, source: .mostExposed, timestamp: timestamp)
    }

    /// The `limit` most exposed items (cached; refreshed every `popularityRefreshEvery` exposures).
    public func mostExposed(limit: Int) -> [Int32] {
        mostExposed(limit: limit, updatingCache: true)
    }

    private func mostExposed(limit: Int, updatingCache: Bool) -> [Int32] {
        let compute = { [exposure] (size: Int) in exposure.mostExposed(limit: size) }
        let items = updatingCache
            ? mostExposedCache.items(limit: limit, version: exposure.recordedCount,
                                     refreshEvery: configuration.popularityRefreshEvery, compute: compute)
            : mostExposedCache.peek(limit: limit, version: exposure.recordedCount,
                                    refreshEvery: configuration.popularityRefreshEvery, compute: compute)
        if items.count >= min(limit, exposure.itemCount) { return Array(items.prefix(limit)) }
        // Fewer exposed items than asked: pad with known items so the list is never empty.
        var result = items
        var seen = Set(items)
        var row: Int32 = 0
        while result.count < limit && Int(row) < self.items.count {
            if seen.insert(row).inserted { result.append(row) }
            row += 1
        }
        return result
    }

    /// γ̃ for `user` now: the cold-start one below `coldStartClicks` clicks (second: true).
    func servedExponent(for user: Int32) -> (exponent: Double, cold: Bool) {
        if history.clickCount(of: user) < configuration.deconfounding.coldStartClicks { return (coldStartExponent.chosen, true) }
        return (rankingExponent.chosen, false)
    }

    /// The user's top-K by g(x)·r^γ̃ (by x when γ̃ = 0).
    private func rankForUser(_ user: Int32, k: Int, exponent: Double, updatingCaches: Bool,
                             ranker: ItemRanker) -> [TopKSelector<Float>.Entry]
    {
        guard exponent > 0 else { return ranker.topK(user: user, k: k, model: model, excluding: exclusions(for: user)) }
        let current = currentAdjustment(updatingCaches: updatingCaches)
        return ranker.topK(user: user, k: k, model: model, excluding: exclusions(for: user)) { scores, count in
            current.adjust(scores, count: count, exponent: exponent)
        }
    }

    /// The exposure adjustment brought up to date (and kept, when the caller may change state).
    private func currentAdjustment(updatingCaches: Bool) -> ExposureAdjustment {
        var current = adjustment
        current.refresh(from: exposure, floor: configuration.deconfounding.exposureFloor, refreshEvery: configuration.popularityRefreshEvery)
        if updatingCaches { adjustment = current }
        return current
    }

    /// Where the model (and the most-clicked list) ranked `item` for `user` just before learning
    /// the click: the test of test-then-train, recorded in the evaluator. With candidate ranking
    /// exponents, each is tested too and the online choice learns from it.
    func evaluate(user: Int32, item: Int32, eventIndex: Int) -> ClickEvaluation {
        let k = configuration.evaluationK
        let clicked = ExcludedItems(sorted: history.clicked(by: user))
        let modelRank: Int?
        if clicked.isEmpty {
            modelRank = mostExposed(limit: k).firstIndex(of: item)
        } else {
            let (exponent, cold) = servedExponent(for: user)
            modelRank = rankForUser(user, k: k, exponent: exponent, updatingCaches: true, ranker: ranker).firstIndex { $0.item == item }
            var selector = cold ? coldStartExponent : rankingExponent
            if !selector.candidates.isEmpty {
                let excluded = exclusions(for: user)
                let raw = ranker.rawScores(user: user, model: model)
                let adjustment = currentAdjustment(updatingCaches: true)
                selector.record(hits: selector.candidates.map {
                    adjustment.rank(of: item, rawScores: raw, count: model.itemCount, exponent: $0, k: k, excluding: excluded) != nil
                })
                if cold { coldStartExponent = selector } else { rankingExponent = selector }
            }
        }
        let popularRank = mostClicked(limit: k, excluding: clicked).firstIndex(of: item)
        evaluator.record(eventIndex: eventIndex, modelHit: modelRank != nil, popularHit: popularRank != nil)
        return ClickEvaluation(k: k, modelRank: modelRank, popularRank: popularRank)
    }

    /// The most-popular baseline: top items by click count so far, without the user's clicks.
    public func mostClicked(limit: Int, excluding excluded: ExcludedItems) -> [Int32] {
        let candidates = mostClickedCache.items(limit: limit + min(excluded.sorted.count, 1_000), version: history.totalClicks,
                                                refreshEvery: configuration.popularityRefreshEvery) { size in
            history.mostClicked(limit: size)
        }
        var result: [Int32] = []
        result.reserveCapacity(limit)
        for item in candidates where !excluded.contains(item) {
            result.append(item)
            if result.count == limit { break }
        }
        return result
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
