/// `exposed`: an item the user was shown and did not click — an observed negative, when the data
/// has impressions; otherwise (or when the user has none) a uniform non-clicked item.
package struct ExposedNegativeSampler: ItemNegativeSampler {
    package let maxAttempts: Int

    package init(maxAttempts: Int = 64) {
        self.maxAttempts = maxAttempts
    }

    package var name: String { SamplerKind.exposed.rawValue }

    package mutating func negative(for positive: PositiveExample, context: SamplingContext, random: inout Xoshiro256) -> Int32 {
        let shown = context.history.impressedNotClicked(by: positive.user)
        if !shown.isEmpty { return shown[random.nextIndex(below: shown.count)] }
        return context.uniformNegative(user: positive.user, positive: positive.item, attempts: maxAttempts, random: &random)
    }
}
