/// Chooses γ̃ of the adjusted ranking online: every evaluated click is ranked under each candidate
/// exponent (cheaply, in log space), each candidate keeps an exponentially weighted hit rate over
/// about `horizon` clicks, and the best one ranks — so the live service follows how much current
/// exposure predicts clicks as the stream shifts. Ties go to the smaller exponent. Deterministic;
/// its state is in the checkpoint.
package struct RankingExponentSelector: Sendable, Equatable {
    package let candidates: [Double]
    package let fallback: Double
    package let horizon: Int
    package private(set) var hitRates: [Double]
    package private(set) var observed = 0

    package init(candidates: [Double], fallback: Double, horizon: Int) {
        precondition(horizon > 0)
        self.candidates = candidates
        self.fallback = fallback
        self.horizon = horizon
        hitRates = [Double](repeating: 0, count: candidates.count)
    }

    /// The exponent to rank with now: the fixed one without candidates or before any click.
    package var chosen: Double {
        guard !candidates.isEmpty, observed > 0 else { return fallback }
        var best = 0
        for index in candidates.indices.dropFirst()
        where hitRates[index] > hitRates[best] || (hitRates[index] == hitRates[best] && candidates[index] < candidates[best]) {
            best = index
        }
        return candidates[best]
    }

    /// One evaluated click: whether it was in the top-K under each candidate.
    package mutating func record(hits: [Bool]) {
        precondition(hits.count == candidates.count)
        observed += 1
        let rate = 1 / Double(min(observed, horizon))
        for index in hits.indices {
            hitRates[index] += ((hits[index] ? 1 : 0) - hitRates[index]) * rate
        }
    }

    // MARK: State

    func writeState(to writer: inout StateWriter) {
        writer.write(hitRates)
        writer.write(observed)
    }

    mutating func readState(from reader: inout StateReader) throws {
        let rates = try reader.readDoubleArray()
        let count = try reader.readCounter("clicks the ranking exponent was chosen on")
        try StateCheck.require(rates.count == candidates.count, "ranking exponents: \(rates.count) hit rates for \(candidates.count) candidates")
        try StateCheck.finite(rates, nonNegative: true, "ranking exponent hit rates")
        hitRates = rates
        observed = count
    }
}
