/// Exact top-K over every item for one user: scores all item rows with the SIMD kernel into a
/// reused buffer, then selects, skipping the user's excluded (already clicked) items.
public final class ItemRanker {
    private var scores: UnsafeMutablePointer<Float>
    private var capacity: Int

    public init() {
        capacity = 1024
        scores = .allocate(capacity: capacity)
    }

    deinit {
        scores.deallocate()
    }

    /// The user's top-K; `adjust` may transform the raw scores (count of them) in place first.
    public func topK(user: Int32, k: Int, model: MatrixFactorization, excluding excluded: ExcludedItems,
                     adjust: ((UnsafeMutablePointer<Float>, Int) -> Void)? = nil) -> [TopKSelector<Float>.Entry] {
        topK(query: UnsafePointer(model.users.row(user)), k: k, model: model, excluding: excluded, adjust: adjust)
    }

    /// The raw scores ⟨p_u, q_i⟩ + b_i of every item, valid until the next call.
    public func rawScores(user: Int32, model: MatrixFactorization) -> UnsafePointer<Float> {
        score(query: UnsafePointer(model.users.row(user)), model: model)
        return UnsafePointer(scores)
    }

    private func score(query: UnsafePointer<Float>, model: MatrixFactorization) {
        let count = model.itemCount
        if count > capacity {
            scores.deallocate()
            capacity = max(count, capacity * 2)
            scores = .allocate(capacity: capacity)
        }
        model.itemBias.withUnsafeBufferPointer { bias in
            VectorKernels.scoreRows(model.items.storage, count: count, stride: model.stride, query: query,
                                    bias: model.configuration.useItemBias ? bias.baseAddress : nil,
                                    into: scores)
        }
    }

    /// Top-K for an arbitrary query vector (`model.stride` floats).
    public func topK(query: UnsafePointer<Float>, k: Int, model: MatrixFactorization, excluding excluded: ExcludedItems,
                     adjust: ((UnsafeMutablePointer<Float>, Int) -> Void)? = nil) -> [TopKSelector<Float>.Entry] {
        let count = model.itemCount
        guard count > 0, k > 0 else { return [] }
        score(query: query, model: model)
        adjust?(scores, count)
        return Self.select(scores: UnsafeBufferPointer(start: scores, count: count), k: k, excluding: excluded)
    }

    /// The `k` best of `scores`, skipping excluded items (checked only for would-be entrants).
    public static func select(scores: UnsafeBufferPointer<Float>, k: Int, excluding excluded: ExcludedItems) -> [TopKSelector<Float>.Entry] {
        var selector = TopKSelector<Float>(capacity: k)
        for index in 0..<scores.count {
            let score = scores[index]
            let item = Int32(index)
            guard selector.wouldAccept(score: score, item: item) else { continue }
            if !excluded.isEmpty && excluded.contains(item) { continue }
            selector.offer(score: score, item: item)
        }
        return selector.sortedDescending()
    }
}
