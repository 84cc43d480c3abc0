/// The weights of one training example under the deconfounded score: r^γ for the positive (its
/// exposure when clicked, or the current one offline) and for the negative (now), and
/// (1/r_i)^exponent, clipped, as the example's weight when propensity weighting is on.
/// Pure arithmetic on a view of the exposure estimate, so the batch's chunks weigh their
/// examples in parallel.
struct ExampleWeighting {
    /// Bits of `weigh`'s result: which current-exposure weight was not in the cache.
    static let positiveMissed: UInt8 = 1
    static let negativeMissed: UInt8 = 2

    let exponent: Double
    let floor: Double
    let propensityExponent: Double
    let propensityClip: Double

    init(_ deconfounding: DeconfoundingConfiguration) {
        exponent = deconfounding.trainingExponent
        floor = deconfounding.exposureFloor
        propensityExponent = deconfounding.propensityWeightExponent
        propensityClip = deconfounding.propensityClip
    }

    /// r^γ, capped at Float's largest finite value (it overflows for large relative exposures).
    @inline(__always)
    func power(_ relative: Double) -> Float {
        Float(min(_pow(relative, exponent), Double(Float.greatestFiniteMagnitude)))
    }

    /// Sets the example's weights; returns which current-exposure weights it computed because
    /// `cached` lacked them (`positiveMissed`, `negativeMissed`).
    @inline(__always)
    func weigh(_ triplet: inout TrainingTriplet, positive: PositiveExample, cached: ItemWeightCache.View,
               exposures: ExposureEstimator.RelativeExposures) -> UInt8
    {
        var missed: UInt8 = 0
        if exponent > 0 {
            if positive.exposure > 0 {
                triplet.positiveWeight = power(Double(positive.exposure))
            } else if let value = cached.value(of: positive.item) {
                triplet.positiveWeight = value
            } else {
                triplet.positiveWeight = power(max(exposures.of(positive.item), floor))
                missed |= Self.positiveMissed
            }
            if let value = cached.value(of: triplet.negative) {
                triplet.negativeWeight = value
            } else {
                triplet.negativeWeight = power(max(exposures.of(triplet.negative), floor))
                missed |= Self.negativeMissed
            }
        }
        if propensityExponent > 0 {
            let positiveExposure = positive.exposure > 0 ? Double(positive.exposure) : max(exposures.of(positive.item), floor)
            triplet.weight = Float(min(propensityClip, _pow(1 / positiveExposure, propensityExponent)))
        }
        return missed
    }
}
