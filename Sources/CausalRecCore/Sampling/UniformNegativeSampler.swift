/// `random`: uniform over the items the user has not clicked (rejection sampling; with sparse
/// histories the first draw almost always succeeds).
package struct UniformNegativeSampler: ItemNegativeSampler {
    package var maxAttempts: Int

    package init(maxAttempts: Int = 64) {
        self.maxAttempts = maxAttempts
    }

    package var name: String { SamplerKind.random.rawValue }

    package mutating func negative(for positive: PositiveExample, context: SamplingContext, random: inout Xoshiro256) -> Int32 {
        context.uniformNegative(user: positive.user, positive: positive.item, attempts: maxAttempts, random: &random)
    }
}
