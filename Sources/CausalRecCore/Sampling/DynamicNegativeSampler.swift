/// `dns` (dynamic negative sampling, Zhang et al. SIGIR 2013): score `candidates` uniform
/// non-clicked items with the current model and keep the highest-scored — the "hardest". Under
/// exposure bias many of these are items the user never saw (false hard negatives), which is
/// what the causal sampler is meant to avoid.
package struct DynamicNegativeSampler: ItemNegativeSampler {
    package let candidates: Int
    package let maxAttempts: Int

    package init(candidates: Int, maxAttempts: Int = 64) {
        precondition(candidates >= 1)
        self.candidates = candidates
        self.maxAttempts = maxAttempts
    }

    package var name: String { SamplerKind.dns.rawValue }

    package mutating func negative(for positive: PositiveExample, context: SamplingContext, random: inout Xoshiro256) -> Int32 {
        let model = context.model
        let user = UnsafePointer(model.users.row(positive.user))
        let useBias = model.configuration.useItemBias
        var best: Int32 = -1
        var bestScore = -Float.infinity
        for _ in 0..<candidates {
            let candidate = context.uniformNegative(user: positive.user, positive: positive.item, attempts: maxAttempts, random: &random)
            guard candidate >= 0 else { continue }
            var score = VectorKernels.dot(user, model.items.row(candidate), length: model.stride)
            if useBias { score += model.itemBias[Int(candidate)] }
            if score > bestScore {
                bestScore = score
                best = candidate
            }
        }
        return best
    }
}
