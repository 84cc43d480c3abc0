/// Exposure as a modelled confounder (after PDA, Zhang et al. SIGIR 2021).
///
/// Training: BPR on s(u,i) = g(⟨p_u,q_i⟩ + b_i) · r_i(t)^γ, r_i(t) the item's exposure relative to
/// the mean item at the event's time (or the training interaction counts offline), g = ELU + 1. The
/// exposure term absorbs what popularity explains, so the embeddings learn what it does not.
///
/// Ranking by intervention: the deconfounded g(·) alone (γ̃ = 0), or adjusted with the *current*
/// exposure, g(·) · r̃_i^γ̃. Offline γ̃ is chosen on validation; in a stream it can be chosen
/// online among candidates by their prequential hit rate. Users with few clicks may lean on
/// exposure with their own γ̃.
public struct DeconfoundingConfiguration: Sendable, Equatable {
    /// γ of training (0 = plain BPR on the raw score). The default is the best true NDCG@20 on the
    /// simulator's validation seeds (101–106) among {0, 0.15, 0.3, 0.5, 1} (results/simulator-shift).
    public var trainingExponent: Double = 0.5
    /// γ̃ of ranking when it is not chosen online.
    public var rankingExponent: Double = 0
    /// Candidates for γ̃ scored on the prequential clicks; the best (exponentially weighted hit
    /// rate) ranks. Empty: `rankingExponent` always.
    /// Off by default: on the simulator the online choice follows the logging policy (its hit rate
    /// on logged clicks rises) and the true NDCG@20 falls (0.43 → 0.10 on the validation seeds, results/simulator-shift).
    public var onlineRankingExponents: [Double] = []
    /// Users with fewer clicks than this rank with `coldStartExponent` (or its online choice).
    public var coldStartClicks: Int = 0
    public var coldStartExponent: Double = 0
    public var onlineColdStartExponents: [Double] = []
    /// Evaluated clicks the online choice averages over (its exponential weighting's horizon).
    public var onlineHorizon: Int = 2_000
    /// Propensity-weighted BPR: each example weighted (1/r_i)^exponent, clipped at `propensityClip`
    /// (0 = off).
    public var propensityWeightExponent: Double = 0
    public var propensityClip: Double = 10
    /// Relative exposure below this counts as this (items never shown keep a finite weight).
    public var exposureFloor: Double = 0.01

    public init() {}

    /// The link of training scores: ELU + 1 once an exposure term multiplies it.
    package var trainingLink: ScoreLink { trainingExponent > 0 ? .eluPlusOne : .identity }

    /// Whether ranking multiplies by exposure at all (any exponent or candidate above 0).
    public var adjustsRanking: Bool {
        rankingExponent > 0 || coldStartExponent > 0 || (onlineRankingExponents + onlineColdStartExponents).contains { $0 > 0 }
    }
}
