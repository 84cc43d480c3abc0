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
        let itemCount = context.model.itemCount
        for (index, positive) in positives.enumerated() {
            negatives[index] = -1
            guard itemCount > 1 else { continue }
            for _ in 0..<maxAttempts {
                let candidate = Int32(random.nextIndex(below: itemCount))
                if candidate != positive.item && !context.history.hasClicked(user: positive.user, item: candidate) {
                    negatives[index] = candidate
                    break
                }
            }
        }
    }
}
