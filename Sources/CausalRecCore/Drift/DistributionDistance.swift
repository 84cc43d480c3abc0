/// Distances between two count histograms over the same keys (items, or bins of items).
package enum DistributionDistance {
    /// Jensen–Shannon distance (the square root of the divergence, log base 2): 0 for equal
    /// distributions, 1 for disjoint ones; symmetric, and defined where one side has zeros.
    package static func jensenShannon(_ p: [Double], _ q: [Double]) -> Double {
        guard let (p, q) = shares(p, q) else { return 0 }
        var divergence = 0.0
        for index in p.indices {
            let a = p[index], b = q[index]
            let m = 0.5 * (a + b)
            if a > 0 { divergence += 0.5 * a * _log2(a / m) }
            if b > 0 { divergence += 0.5 * b * _log2(b / m) }
        }
        return max(0, divergence).squareRoot()
    }

    /// Population stability index Σ (q − p)·ln(q / p) over shares, with empty bins floored at
    /// `floor` so a bin that appears or vanishes counts as a large but finite change.
    package static func populationStability(reference p: [Double], current q: [Double], floor: Double = 1e-4) -> Double {
        guard let (p, q) = shares(p, q) else { return 0 }
        var index = 0.0
        for bin in p.indices {
            let a = max(p[bin], floor)
            let b = max(q[bin], floor)
            index += (b - a) * _log(b / a)
        }
        return index
    }

    /// Both histograms as shares of their totals; nil when either is empty (no distance to speak of).
    private static func shares(_ p: [Double], _ q: [Double]) -> ([Double], [Double])? {
        precondition(p.count == q.count)
        let totalP = p.reduce(0, +)
        let totalQ = q.reduce(0, +)
        guard totalP > 0, totalQ > 0 else { return nil }
        return (p.map { $0 / totalP }, q.map { $0 / totalQ })
    }
}
