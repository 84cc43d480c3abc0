/// Top-K over every item for one user: scores all item rows with the SIMD kernel into a reused
/// buffer, then selects, skipping the user's excluded (already clicked) items. Large catalogues
/// (`ApproximateRanking`) are pre-scanned in 8 bits and only the best candidates scored exactly.
public final class ItemRanker {
    private var scores: UnsafeMutablePointer<Float>
    private var capacity: Int
    public let approximation: ApproximateRanking
    private var quantized: QuantizedItemTable?

    public init(approximation: ApproximateRanking = ApproximateRanking(minimumItems: 0)) {
        capacity = 1024
        scores = .allocate(capacity: capacity)
        self.approximation = approximation
    }

    /// Bytes per item of the 8-bit copy (0 while no ranking has used it).
    public var quantizedBytesPerItem: Int { quantized?.bytesPerItem ?? 0 }

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

    private func ensureCapacity(_ count: Int) {
        if count > capacity {
            scores.deallocate()
            capacity = max(count, capacity * 2)
            scores = .allocate(capacity: capacity)
        }
    }

    private func score(query: UnsafePointer<Float>, model: MatrixFactorization) {
        let count = model.itemCount
        ensureCapacity(count)
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
        if adjust == nil && approximation.applies(to: count) {
            return approximateTopK(query: query, k: k, model: model, excluding: excluded)
        }
        score(query: query, model: model)
        adjust?(scores, count)
        return Self.select(scores: UnsafeBufferPointer(start: scores, count: count), k: k, excluding: excluded)
    }

    /// The exact top-K, for comparisons with the approximate one (always scores every row).
    public func exactTopK(query: UnsafePointer<Float>, k: Int, model: MatrixFactorization, excluding excluded: ExcludedItems)
        -> [TopKSelector<Float>.Entry]
    {
        guard model.itemCount > 0, k > 0 else { return [] }
        score(query: query, model: model)
        return Self.select(scores: UnsafeBufferPointer(start: scores, count: model.itemCount), k: k, excluding: excluded)
    }

    /// 8-bit pre-scan, then the candidates re-scored in fp32; the scores returned are exact.
    private func approximateTopK(query: UnsafePointer<Float>, k: Int, model: MatrixFactorization,
                                 excluding excluded: ExcludedItems) -> [TopKSelector<Float>.Entry]
    {
        let count = model.itemCount
        let table = quantized ?? QuantizedItemTable(dimension: model.dimension)
        quantized = table
        table.sync(with: model)
        ensureCapacity(count)
        model.itemBias.withUnsafeBufferPointer { bias in
            table.approximateScores(query: query, dimension: model.dimension,
                                    bias: model.configuration.useItemBias ? bias.baseAddress : nil, into: scores)
        }
        let candidates = Self.select(scores: UnsafeBufferPointer(start: scores, count: count),
                                     k: max(approximation.candidates, 8 * k), excluding: excluded)
        var selector = TopKSelector<Float>(capacity: k)
        let useBias = model.configuration.useItemBias
        for candidate in candidates {
            var exact = VectorKernels.dot(query, model.items.row(candidate.item), length: model.stride)
            if useBias { exact += model.itemBias[Int(candidate.item)] }
            selector.offer(score: exact, item: candidate.item)
        }
        return selector.sortedDescending()
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
