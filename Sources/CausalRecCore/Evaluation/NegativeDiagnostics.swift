/// What a sampler's negatives look like for a sample of positives: how hard they are, how close
/// to the positive, and whether hardness goes with exposure — the false-hard-negative effect
/// (hard "negatives" that are really unexposed items the user might like) the causal sampler is
/// meant to remove.
public struct NegativeDiagnostics: Sendable, Codable, Equatable {
    public var samples = 0
    /// Spearman correlation between hardness (the negative's score for the user) and the exposure
    /// (propensity) of the negative — for a generated vector, of its nearest real item (cosine).
    public var exposureHardnessCorrelation = 0.0
    /// Mean cosine between the negative and the positive item.
    public var meanCosineToPositive = 0.0
    /// Mean score(u, negative) − score(u, positive).
    public var meanScoreGap = 0.0
    /// Share of negatives scored below the positive.
    public var shareBelowPositive = 0.0
    /// Mean mixing weight λ of generated vectors (0 for real-item samplers).
    public var meanMix = 0.0
    /// Mean cosine between a generated vector and its nearest real item (1 for real items).
    public var meanNearestItemCosine = 0.0

    public init() {}
}

