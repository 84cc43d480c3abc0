/// Something that scores every item for a user (the model, most-popular, an untrained model).
package protocol ItemScorer {
    var itemCount: Int { get }
    /// Writes one score per item (higher = better).
    func scores(for user: Int32, into scores: UnsafeMutableBufferPointer<Float>)
    /// Prepares for scoring many users (e.g. repacks the item table); called once per evaluation.
    func makeBatchScorer() -> BatchScorer?
}

extension ItemScorer {
    package func makeBatchScorer() -> BatchScorer? { nil }
}

/// Scores up to `PackedItemPanels.userBlock` users at a time.
package protocol BatchScorer {
    func scores(for users: ArraySlice<Int32>, into output: UnsafeMutablePointer<Float>, stride: Int)
}

extension MatrixFactorization: ItemScorer {
    public func scores(for user: Int32, into scores: UnsafeMutableBufferPointer<Float>) {
        itemBias.withUnsafeBufferPointer { bias in
            VectorKernels.scoreRows(items.storage, count: itemCount, stride: stride, query: users.row(user),
                                    bias: configuration.useItemBias ? bias.baseAddress : nil, into: scores.baseAddress!)
        }
    }

    package func makeBatchScorer() -> BatchScorer? {
        MatrixFactorizationBatchScorer(model: self)
    }
}

/// Blocks of six users against the packed item panels, plus the item bias.
struct MatrixFactorizationBatchScorer: BatchScorer {
    let model: MatrixFactorization
    let panels: PackedItemPanels

    init(model: MatrixFactorization) {
        self.model = model
        panels = PackedItemPanels(rows: model.items.storage, count: model.itemCount, stride: model.stride,
                                  dimension: model.stride)
    }

    func scores(for users: ArraySlice<Int32>, into output: UnsafeMutablePointer<Float>, stride: Int) {
        let dimension = model.stride
        let queries = UnsafeMutablePointer<Float>.allocate(capacity: users.count * dimension)
        defer { queries.deallocate() }
        for (index, user) in users.enumerated() {
            (queries + index * dimension).update(from: model.users.row(user), count: dimension)
        }
        panels.score(queries: queries, users: users.count, queryStride: dimension, into: output, outputStride: stride)
        if model.configuration.useItemBias {
            let bias = model.itemBias.pointer
            for index in 0..<users.count {
                let row = output + index * stride
                for item in 0..<model.itemCount { row[item] += bias[item] }
            }
        }
    }
}

/// Most-popular: every user gets the items ranked by training click count.
public struct PopularityScorer: ItemScorer {
    public let counts: [Float]

    public init(clickCounts: [Int32]) {
        counts = clickCounts.map(Float.init)
    }

    public var itemCount: Int { counts.count }

    public func scores(for user: Int32, into scores: UnsafeMutableBufferPointer<Float>) {
        _ = scores.initialize(from: counts)
    }
}

/// One evaluation split: each user's relevant items and the items to mask (training positives).
public struct EvaluationSplit: Sendable {
    public var name: String
    /// user row → sorted relevant item rows (users without any are skipped).
    public var relevant: [Int32: ExcludedItems]

    public init(name: String, relevant: [Int32: ExcludedItems]) {
        self.name = name
        self.relevant = relevant
    }
}

/// Full-ranking evaluation: for each user of the split, score all items, mask the user's training
/// positives, take the top 20, and average Recall/NDCG@10/20 over users; coverage, popularity
/// and Gini describe the lists. Users are split over `threads`; results are the same for any
/// thread count (per-user results are combined in user order).
public struct OfflineEvaluator {
    public let masks: [ExcludedItems]
    /// Training click count per item (for avg_pop).
    public let popularity: [Int32]
    public let threads: Int

    public init(masks: [ExcludedItems], popularity: [Int32], threads: Int = 1) {
        self.masks = masks
        self.popularity = popularity
        self.threads = max(1, threads)
    }

    struct UserResult {
        var recall10 = 0.0, ndcg10 = 0.0, recall20 = 0.0, ndcg20 = 0.0, popularity = 0.0
        var top: [Int32] = []
    }

    package func evaluate(_ scorer: some ItemScorer, on split: EvaluationSplit) -> RankingMetrics {
        evaluate(scorer, on: split, variants: [RankingVariant()], adjustment: nil)[0].metrics
    }

    /// Several rankings from one scoring pass: each variant ranks the same raw scores, adjusted
    /// by the current exposure with its exponents (`ExposureAdjustment`) — cheaper than a pass
    /// per variant, since scoring dominates. Per-user NDCG@20 comes back in user order, so callers
    /// can choose exponents per cohort (users with few clicks, users with many).
    package func evaluate(_ scorer: some ItemScorer, on split: EvaluationSplit, variants: [RankingVariant],
                         adjustment: ExposureAdjustment?) -> [(metrics: RankingMetrics, userNDCG20: [Double])]
    {
        evaluate(scorer, on: split, variants: variants, adjustments: adjustment.map { [.exposure: $0] } ?? [:])
    }

    /// `evaluate(_:on:variants:adjustment:)` with one adjustment per confounder the variants name.
    package func evaluate(_ scorer: some ItemScorer, on split: EvaluationSplit, variants: [RankingVariant],
                         adjustments: [RankingVariant.Confounder: ExposureAdjustment]) -> [(metrics: RankingMetrics, userNDCG20: [Double])]
    {
        let users = split.relevant.keys.sorted()
        let itemCount = scorer.itemCount
        // Each distinct (confounder, γ̃ > 0) multiplies g(x) by fixed factors r^γ̃: computed once
        // here, so a user costs one g(x) pass plus one multiply-and-select per distinct ranking.
        var factorKeys: [AdjustmentKey] = []
        var factors: [[Float]] = []
        for variant in variants {
            for exponent in [variant.exponent, variant.coldStartExponent] where exponent > 0 {
                let key = AdjustmentKey(confounder: variant.confounder, exponent: exponent)
                guard !factorKeys.contains(key), let adjustment = adjustments[variant.confounder] else { continue }
                factorKeys.append(key)
                factors.append(adjustment.factors(exponent: exponent, count: itemCount))
            }
        }
        // One flat buffer (variant-major): threads write disjoint elements, never a shared array.
        var results = [UserResult](repeating: UserResult(), count: variants.count * users.count)
        results.withUnsafeMutableBufferPointer { output in
            let shared = UncheckedSendableBox(output)
            let batch = scorer.makeBatchScorer()
            let block = PackedItemPanels.userBlock
            let work: (Int) -> Void = { part in
                let rowStride = max(itemCount, 1)
                let scores = UnsafeMutablePointer<Float>.allocate(capacity: block * rowStride)
                let linked = UnsafeMutablePointer<Float>.allocate(capacity: rowStride)
                let adjusted = UnsafeMutablePointer<Float>.allocate(capacity: rowStride)
                defer {
                    scores.deallocate()
                    linked.deallocate()
                    adjusted.deallocate()
                }
                // Per user: the result of each ranking computed so far (index into factorKeys, or
                // -1 for the raw ranking), reused by every variant that ranks the same way.
                var computed: [(key: Int, result: UserResult)] = []
                // Parts take whole blocks of users, so the result does not depend on the split.
                let blocks = (users.count + block - 1) / block
                let firstBlock = blocks * part / threads
                let lastBlock = blocks * (part + 1) / threads
                for blockIndex in firstBlock..<lastBlock {
                    let start = blockIndex * block
                    let end = min(users.count, start + block)
                    if let batch {
                        batch.scores(for: users[start..<end], into: scores, stride: rowStride)
                    } else {
                        for index in start..<end {
                            scorer.scores(for: users[index], into: UnsafeMutableBufferPointer(start: scores + (index - start) * rowStride,
                                                                                               count: itemCount))
                        }
                    }
                    for index in start..<end {
                        let user = users[index]
                        let raw = scores + (index - start) * rowStride
                        let mask = Int(user) < masks.count ? masks[Int(user)] : .none
                        computed.removeAll(keepingCapacity: true)
                        var linkedReady = false
                        for (variantIndex, variant) in variants.enumerated() {
                            let exponent = variant.exponent(clicks: mask.sorted.count)
                            let key = exponent > 0 ? factorKeys.firstIndex(of: AdjustmentKey(confounder: variant.confounder, exponent: exponent)) ?? -1 : -1
                            let result: UserResult
                            if let done = computed.first(where: { $0.key == key }) {
                                result = done.result
                            } else {
                                var row = UnsafeBufferPointer(start: UnsafePointer(raw), count: itemCount)
                                if key >= 0 {
                                    if !linkedReady {
                                        for item in 0..<itemCount { linked[item] = ScoreLink.eluPlusOne.value(raw[item]) }
                                        linkedReady = true
                                    }
                                    factors[key].withUnsafeBufferPointer { weight in
                                        for item in 0..<itemCount { adjusted[item] = linked[item] * weight[item] }
                                    }
                                    row = UnsafeBufferPointer(start: UnsafePointer(adjusted), count: itemCount)
                                }
                                result = userResult(row: row, user: user, mask: mask, relevant: split.relevant[user]!)
                                computed.append((key, result))
                            }
                            shared.value[variantIndex * users.count + index] = result
                        }
                    }
                }
            }
            ParallelWork.run(parts: threads, work)
        }
        return variants.indices.map { variant in
            let slice = Array(results[(variant * users.count)..<((variant + 1) * users.count)])
            return (aggregate(slice, itemCount: itemCount), slice.map(\.ndcg20))
        }
    }

    private func userResult(row: UnsafeBufferPointer<Float>, user: Int32, mask: ExcludedItems, relevant: ExcludedItems) -> UserResult {
        let top = ItemRanker.select(scores: row, k: 20, excluding: mask).map(\.item)
        var result = UserResult()
        result.recall10 = RankingMetrics.recall(ranked: top, relevant: relevant, k: 10)
        result.ndcg10 = RankingMetrics.ndcg(ranked: top, relevant: relevant, k: 10)
        result.recall20 = RankingMetrics.recall(ranked: top, relevant: relevant, k: 20)
        result.ndcg20 = RankingMetrics.ndcg(ranked: top, relevant: relevant, k: 20)
        if !top.isEmpty {
            result.popularity = top.reduce(0.0) { $0 + Double(Int($1) < popularity.count ? popularity[Int($1)] : 0) } / Double(top.count)
        }
        result.top = top
        return result
    }

    private func aggregate(_ results: [UserResult], itemCount: Int) -> RankingMetrics {
        var metrics = RankingMetrics()
        metrics.users = results.count
        guard !results.isEmpty else { return metrics }
        var appearances = [Double](repeating: 0, count: itemCount)
        for result in results {
            metrics.recall10 += result.recall10
            metrics.ndcg10 += result.ndcg10
            metrics.recall20 += result.recall20
            metrics.ndcg20 += result.ndcg20
            metrics.averagePopularity20 += result.popularity
            for item in result.top { appearances[Int(item)] += 1 }
        }
        let count = Double(results.count)
        metrics.recall10 /= count
        metrics.ndcg10 /= count
        metrics.recall20 /= count
        metrics.ndcg20 /= count
        metrics.averagePopularity20 /= count
        metrics.coverage20 = itemCount > 0 ? Double(appearances.filter { $0 > 0 }.count) / Double(itemCount) : 0
        metrics.gini20 = RankingMetrics.gini(appearances)
        return metrics
    }
}
