/// `random`: uniform over the items the user has not clicked (rejection sampling; with sparse
/// histories the first draw almost always succeeds).
public struct UniformNegativeSampler: NegativeSampler {
    public var maxAttempts: Int

    public init(maxAttempts: Int = 64) {
        self.maxAttempts = maxAttempts
    }

    public var name: String { SamplerKind.random.rawValue }

    public mutating func sampleNegatives(for positives: UnsafeBufferPointer<PositiveExample>,
                                         into negatives: UnsafeMutableBufferPointer<Int32>,
                                         context: SamplingContext, random: inout Xoshiro256)
    {
        for index in 0..<positives.count {
            let positive = positives[index]
            negatives[index] = context.uniformNegative(user: positive.user, positive: positive.item,
                                                       attempts: maxAttempts, random: &random)
        }
    }
}
