/// Settings of the `causal` sampler (`CausalNegativeSampler`), as in pipeline.yaml under
/// `sampler.causal` and in `backtest --causal key=value,...`.
public struct CausalSamplerConfiguration: Sendable, Equatable, Codable {
    /// Candidates scored per positive (M).
    public var candidates = 32
    /// The share of the candidates drawn from the items the user was shown and did not click (when
    /// the user has any); the rest follow the backdoor rule. All of them, chosen on the simulator's
    /// validation seeds (results/simulator-shift/README.md).
    public var exposedShare = 1.0
    /// ρ: the probability that an environment draw takes the positive's own environment (a matched
    /// contrast); otherwise the environment is drawn from P(E) over items.
    public var matchedEnvironment = 0.5
    /// Recent candidates remembered per user, with the moving mean and variance of the
    /// probability that the model ranks them above the positive.
    public var memorySlots = 8
    /// Weight of a new observation in those moving statistics.
    public var memoryRate = 0.25
    /// Observations before a remembered candidate can be judged a false negative.
    public var filterObservations = 3
    /// A remembered candidate whose mean minus one standard deviation of σ(x_j − x_i) is above
    /// this is dropped: the model keeps ranking it above the user's positives.
    public var filterThreshold = 0.5
    /// SRNS's variance bonus: a candidate's selection key is lowered by this times the standard
    /// deviation of its remembered statistic (unstable candidates are informative).
    public var varianceBonus = 0.5
    /// How the negative is chosen among the pool's unfiltered candidates.
    public enum Selection: String, Sendable, Codable, CaseIterable {
        /// The candidate closest to AHNS's hardness target (below), DNS when there is none.
        case adaptive
        /// The highest-scored candidate (DNS).
        case hardest
        /// A uniform one among the drawn (not remembered) candidates: the pool's rules alone.
        case uniform
    }

    /// `uniform`, chosen on validation: harder choices lost on the simulator's true preferences.
    public var selection = Selection.uniform
    /// AHNS's hardness target β·(cos(u, i) + α)^(p + 1) on the candidates' cosine to the user:
    /// the better the positive already scores, the easier the chosen negative.
    public var hardnessAlpha = 1.0
    public var hardnessBeta = 0.5
    public var hardnessPower = -2.0
    /// Rebuild the per-environment item lists after this many new exposures.
    public var refreshEvery = 10_000

    public init() {}

    public static let settingNames = [
        "candidates", "selection", "exposed_share", "matched_environment", "memory_slots", "memory_rate", "filter_observations",
        "filter_threshold", "variance_bonus", "hardness_alpha", "hardness_beta", "hardness_power", "refresh_every",
    ]

    /// A setting that is unknown or out of range: the message names the key and what it accepts.
    public struct SettingError: Error, Equatable, CustomStringConvertible {
        public let key: String
        public let message: String

        public var description: String { "causal setting '\(key)': \(message)" }
    }

    /// Sets one setting from its text form.
    public mutating func set(_ key: String, to value: String) throws(SettingError) {
        func number(_ range: ClosedRange<Double>) throws(SettingError) -> Double {
            guard let parsed = Double(value), parsed.isFinite, range.contains(parsed) else {
                throw SettingError(key: key, message: "'\(value)' is not a number in \(range.lowerBound)…\(range.upperBound)")
            }
            return parsed
        }
        func integer(_ range: ClosedRange<Int>) throws(SettingError) -> Int {
            guard let parsed = Int(value), range.contains(parsed) else {
                throw SettingError(key: key, message: "'\(value)' is not an integer in \(range.lowerBound)…\(range.upperBound)")
            }
            return parsed
        }
        switch key {
        case "candidates": candidates = try integer(1...1_024)
        case "selection":
            guard let parsed = Selection(rawValue: value) else {
                throw SettingError(key: key, message: "'\(value)' is not one of \(Selection.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            selection = parsed
        case "exposed_share": exposedShare = try number(0...1)
        case "matched_environment": matchedEnvironment = try number(0...1)
        case "memory_slots": memorySlots = try integer(0...64)
        case "memory_rate": memoryRate = try number(0.001...1)
        case "filter_observations": filterObservations = try integer(1...1_000)
        case "filter_threshold": filterThreshold = try number(0...1)
        case "variance_bonus": varianceBonus = try number(0...100)
        case "hardness_alpha": hardnessAlpha = try number(-10...10)
        case "hardness_beta": hardnessBeta = try number(0...100)
        case "hardness_power": hardnessPower = try number(-10...10)
        case "refresh_every": refreshEvery = try integer(1...1_000_000_000)
        default:
            throw SettingError(key: key, message: "not a causal setting (known: \(Self.settingNames.joined(separator: ", ")))")
        }
    }

    /// Sets several settings.
    public mutating func apply(_ settings: [(key: String, value: String)]) throws(SettingError) {
        for (key, value) in settings { try set(key, to: value) }
    }
}
