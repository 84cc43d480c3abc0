/// How noise grows over the forward process.
public enum NoiseScheduleKind: Sendable, Equatable, Codable {
    /// ᾱ(t) = cos²(((t/T + s)/(1 + s))·π/2) (Nichol & Dhariwal 2021): reaches almost pure noise.
    case cosine
    /// β linear from `start` to `end` (Ho et al. 2020 use 1e-4 … 0.02 over 1000 steps).
    case linear(start: Double, end: Double)
    /// 1 − ᾱ linear from scale·min to scale·max (DiffRec's "linear-var"; the released CNSDiff code
    /// uses scale 0.1 over [1e-4, 0.02], so its noise never exceeds std √0.002 ≈ 0.045).
    case linearVariance(scale: Double, min: Double, max: Double)
}

/// The forward-process constants of a DDPM with T steps, indexed 0..<T (index t is noise level
/// t + 1), plus what the reverse step needs.
package struct NoiseSchedule: Sendable, Equatable {
    package let steps: Int
    package let kind: NoiseScheduleKind
    package let betas: [Double]
    /// ᾱ_t = Π_{s≤t} (1 − β_s).
    package let alphaBars: [Double]

    package init(kind: NoiseScheduleKind, steps: Int) {
        precondition(steps >= 1)
        self.steps = steps
        self.kind = kind
        var betas: [Double] = []
        switch kind {
        case .cosine:
            let offset = 0.008
            func f(_ t: Double) -> Double {
                let angle = ((t / Double(steps)) + offset) / (1 + offset) * Double.pi / 2
                let c = _cos(angle)
                return c * c
            }
            for index in 0..<steps {
                let beta = 1 - f(Double(index + 1)) / f(Double(index))
                betas.append(min(max(beta, 1e-8), 0.999))
            }
        case let .linear(start, end):
            for index in 0..<steps {
                betas.append(steps == 1 ? start : start + (end - start) * Double(index) / Double(steps - 1))
            }
        case let .linearVariance(scale, low, high):
            var previous = 1.0
            for index in 0..<steps {
                let variance = scale * (steps == 1 ? low : low + (high - low) * Double(index) / Double(steps - 1))
                let alphaBar = 1 - variance
                betas.append(min(1 - alphaBar / previous, 0.999))
                previous = alphaBar
            }
        }
        self.betas = betas
        var product = 1.0
        alphaBars = betas.map { beta in
            product *= 1 - beta
            return product
        }
    }

    /// ᾱ at index t, with ᾱ(−1) = 1 (no noise).
    @inline(__always)
    package func alphaBar(_ t: Int) -> Double {
        t < 0 ? 1 : alphaBars[t]
    }

    /// The noise standard deviation √(1 − ᾱ) at index t.
    package func noiseStandardDeviation(_ t: Int) -> Double {
        (1 - alphaBar(t)).squareRoot()
    }

    /// Posterior q(x_{t−1} | x_t, x_0) = N(c1·x_0 + c2·x_t, σ²).
    package func posterior(_ t: Int) -> (coefficientX0: Double, coefficientXt: Double, variance: Double) {
        let alphaBar = self.alphaBar(t)
        let previous = self.alphaBar(t - 1)
        let beta = betas[t]
        let c1 = beta * previous.squareRoot() / (1 - alphaBar)
        let c2 = (1 - previous) * (1 - beta).squareRoot() / (1 - alphaBar)
        let variance = beta * (1 - previous) / (1 - alphaBar)
        return (c1, c2, variance)
    }

    /// The clipped posterior log-variance used by the KL term (index 0 borrows index 1's, as the
    /// reference implementation does, since the true value is 0).
    package func posteriorLogVariance(_ t: Int) -> Double {
        let index = t == 0 && steps > 1 ? 1 : t
        return _log(max(posterior(index).variance, 1e-20))
    }
}
