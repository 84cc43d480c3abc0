/// `exposed`: an item the user was shown and did not click — an observed negative, when the data
/// has impressions; otherwise (or when the user has none) a uniform non-clicked item.
public struct ExposedNegativeSampler: NegativeSampler {
    public let maxAttempts: Int

    public init(maxAttempts: Int = 64) {
        self.maxAttempts = maxAttempts
    }

    public var name: String { SamplerKind.exposed.rawValue }

    public mutating func sampleNegatives(for positives: UnsafeBufferPointer<PositiveExample>,
                                         into negatives: UnsafeMutableBufferPointer<Int32>,
                                         context: SamplingContext, random: inout Xoshiro256)
    {
        for index in 0..<positives.count {
            let positive = positives[index]
            let shown = context.history.impressedNotClicked(by: positive.user)
            if !shown.isEmpty {
                negatives[index] = shown[random.nextIndex(below: shown.count)]
            } else {
                negatives[index] = context.uniformNegative(user: positive.user, positive: positive.item,
                                                           attempts: maxAttempts, random: &random)
            }
        }
    }
}
