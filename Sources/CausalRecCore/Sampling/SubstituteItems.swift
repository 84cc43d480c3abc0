/// Real items standing in for the shown-and-skipped items a user lacks (`cnsdiff-exposure`): the
/// nearest unclicked items to the denoised vectors of a denoiser trained on shown-and-skipped
/// items. The causal sampler draws from them beside the user's own shown items. Written serially
/// (once per batch, in `learn`), read by the parallel draws.
package final class SubstituteItems {
    /// Users with fewer shown items than this get the substitutes (a user with three has enough
    /// of their own for the draws to vary).
    package static let belowShown = 3
    private var rows: [Int32: Range<Int>] = [:]
    private var items: [Int32] = []

    package init() {}

    package var userCount: Int { rows.count }

    /// Drops every list (a new snapshot generates new ones).
    func removeAll() {
        rows.removeAll(keepingCapacity: true)
        items.removeAll(keepingCapacity: true)
    }

    func set(_ list: [Int32], for user: Int32) {
        rows[user] = items.count..<(items.count + list.count)
        items.append(contentsOf: list)
    }

    func forget(users: Set<Int32>) {
        for user in users { rows[user] = nil }
    }

    package func items(of user: Int32) -> ArraySlice<Int32> {
        guard let range = rows[user] else { return [] }
        return items[range]
    }

    /// The nearest unclicked, used item row to each vector (Euclidean: the largest ⟨q_j, g⟩ − ½‖q_j‖²),
    /// without repeats.
    static func nearest(to vectors: [UnsafePointer<Float>], user: Int32, context: SamplingContext,
                        halfNorms: [Float], scores: inout [Float]) -> [Int32]
    {
        let model = context.model
        let count = model.itemCount
        if scores.count < count { scores = [Float](repeating: 0, count: count) }
        var chosen: [Int32] = []
        for vector in vectors {
            scores.withUnsafeMutableBufferPointer { buffer in
                VectorKernels.scoreRows(UnsafePointer(model.items.storage), count: count, stride: model.stride, query: vector,
                                        bias: nil, into: buffer.baseAddress!)
            }
            var best: Int32 = -1
            var bestValue = -Float.infinity
            for item in 0..<count {
                let value = scores[item] - halfNorms[item]
                let row = Int32(item)
                if value > bestValue && !chosen.contains(row) && !context.history.hasClicked(user: user, item: row)
                    && !context.freeItems.contains(row)
                {
                    best = row
                    bestValue = value
                }
            }
            if best >= 0 { chosen.append(best) }
        }
        return chosen
    }
}
