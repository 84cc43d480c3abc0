/// `dns` (dynamic negative sampling, Zhang et al. SIGIR 2013): score `candidates` uniform
/// non-clicked items with the current model and keep the highest-scored — the "hardest". Under
/// exposure bias many of these are items the user never saw (false hard negatives), which is
/// what the causal sampler is meant to avoid.
public struct DynamicNegativeSampler: NegativeSampler {
    public let candidates: Int
    public let maxAttempts: Int

    public init(candidates: Int, maxAttempts: Int = 64) {
        precondition(candidates >= 1)
        self.candidates = candidates
        self.maxAttempts = maxAttempts
    }

    public var name: String { SamplerKind.dns.rawValue }

    public mutating func sampleNegatives(for positives: UnsafeBufferPointer<PositiveExample>,
                                         into negatives: UnsafeMutableBufferPointer<Int32>,
                                         context: SamplingContext, random: inout Xoshiro256)
    {
        let model = context.model
        let stride = model.stride
        let useBias = model.configuration.useItemBias
        model.itemBias.withUnsafeBufferPointer { bias in
            for index in 0..<positives.count {
                let positive = positives[index]
                let user = UnsafePointer(model.users.row(positive.user))
                var best: Int32 = -1
                var bestScore = -Float.infinity
                for _ in 0..<candidates {
                    let candidate = context.uniformNegative(user: positive.user, positive: positive.item,
                                                            attempts: maxAttempts, random: &random)
                    guard candidate >= 0 else { continue }
                    var score = VectorKernels.dot(user, model.items.row(candidate), length: stride)
                    if useBias { score += bias[Int(candidate)] }
                    if score > bestScore {
                        bestScore = score
                        best = candidate
                    }
                }
                negatives[index] = best
            }
        }
    }
}
