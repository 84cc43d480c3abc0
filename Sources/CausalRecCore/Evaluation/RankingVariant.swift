/// One adjusted ranking's factors: r^γ̃ over one confounder.
struct AdjustmentKey: Equatable {
    var confounder: RankingVariant.Confounder
    var exponent: Double
}

/// How a ranking uses the current exposure: γ̃ for users with at least `coldStartClicks` training
/// clicks, and another for those with fewer (0 = the deconfounded ranking), over the exposure the
/// estimator keeps or over the training click counts.
public struct RankingVariant: Sendable, Equatable, Codable {
    /// What the adjusted ranking multiplies by.
    public enum Confounder: String, Sendable, Equatable, Codable, CaseIterable {
        /// The exposure estimator (impressions, or clicks where a split has none).
        case exposure
        /// Training click counts: popularity as the confounder.
        case clicks
    }

    public var exponent: Double = 0
    public var coldStartExponent: Double = 0
    public var coldStartClicks: Int = 0
    public var confounder: Confounder = .exposure

    enum CodingKeys: String, CodingKey {
        case exponent, confounder
        case coldStartExponent = "cold_start_exponent"
        case coldStartClicks = "cold_start_clicks"
    }

    public init(exponent: Double = 0, coldStartExponent: Double = 0, coldStartClicks: Int = 0, confounder: Confounder = .exposure) {
        self.exponent = exponent
        self.coldStartExponent = coldStartExponent
        self.coldStartClicks = coldStartClicks
        self.confounder = confounder
    }

    func exponent(clicks: Int) -> Double { clicks < coldStartClicks ? coldStartExponent : exponent }
}
