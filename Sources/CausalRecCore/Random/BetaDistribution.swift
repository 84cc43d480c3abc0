extension Xoshiro256 {
    /// Gamma(shape, 1) by Marsaglia & Tsang (2000); shapes below 1 use the boost
    /// Gamma(a) = Gamma(a + 1)·U^(1/a).
    public mutating func nextGamma(shape: Double) -> Double {
        precondition(shape > 0)
        if shape < 1 {
            let u = max(nextUnitDouble(), 1e-300)
            return nextGamma(shape: shape + 1) * _pow(u, 1 / shape)
        }
        let d = shape - 1.0 / 3.0
        let c = 1 / (9 * d).squareRoot()
        while true {
            var x: Double
            var v: Double
            repeat {
                x = nextGaussian()
                v = 1 + c * x
            } while v <= 0
            v = v * v * v
            let u = nextUnitDouble()
            if u < 1 - 0.0331 * x * x * x * x { return d * v }
            if _log(max(u, 1e-300)) < 0.5 * x * x + d * (1 - v + _log(v)) { return d * v }
        }
    }

    /// Beta(α, β) as X/(X + Y) with X ~ Gamma(α), Y ~ Gamma(β).
    public mutating func nextBeta(alpha: Double, beta: Double) -> Double {
        let x = nextGamma(shape: alpha)
        let y = nextGamma(shape: beta)
        return x + y > 0 ? x / (x + y) : 0.5
    }
}
