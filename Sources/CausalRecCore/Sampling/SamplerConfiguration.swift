/// The samplers that can be named in configuration.
public enum SamplerKind: String, Sendable, Codable, CaseIterable {
    case random
    case popularity
    case dns
    case exposed
    case causal
    /// CNSDiff version 2: causal real negatives plus latent negatives stopped short of t = 0.
    case cnsdiff
    /// CNSDiff as first built (blended negatives), kept for the record.
    case cnsdiffV1 = "cnsdiff-v1"
}

/// Which sampler, and its settings.
public struct SamplerConfiguration: Sendable, Equatable, Codable {
    public var kind: SamplerKind = .random
    /// `popularity`: negatives ∝ exposure^α.
    public var popularityExponent: Double = 0.75
    /// `popularity`: rebuild the sampling table after this many new exposures.
    public var popularityRefreshEvery: Int = 10_000
    /// `dns`: uniform candidates scored per positive (the hardest is kept).
    public var dnsCandidates: Int = 10
    /// Draws before giving up on finding an item the user has not clicked.
    public var maxAttempts: Int = 64
    /// `causal`: the pool, the filter and the hardness rule.
    public var causal = CausalSamplerConfiguration()
    /// `cnsdiff` and `cnsdiff-v1`: the diffusion model and its regularisation (each kind starts
    /// from its own defaults).
    public var cnsdiff = CNSDiffConfiguration()
    /// The name reports use (a preset or ablation of a kind); nil = the kind's name.
    public var variant: String?

    public init(kind: SamplerKind = .random) {
        self.kind = kind
        if kind == .cnsdiff { cnsdiff = .version2 }
    }

    public var name: String { variant ?? kind.rawValue }

    /// The sampler names reports and `backtest --sampler` accept: the kinds, plus the causal
    /// sampler's ablations and the CNSDiff preset and ablations.
    public static let names = SamplerKind.allCases.map(\.rawValue)
        + ["causal-half-exposed", "causal-no-filter", "causal-adaptive", "causal-hardest"]
        + ["cnsdiff-no-intervention", "cnsdiff-no-filter", "cnsdiff-no-invariance", "cnsdiff-t0", "cnsdiff-exposure", "cnsdiff-reference"]

    /// The configuration a name stands for (see `names`).
    public static func named(_ name: String) -> SamplerConfiguration? {
        if let kind = SamplerKind(rawValue: name) { return SamplerConfiguration(kind: kind) }
        if name.hasPrefix("causal-") {
            var configuration = SamplerConfiguration(kind: .causal)
            configuration.variant = name
            switch name {
            case "causal-half-exposed": configuration.causal.exposedShare = 0.5
            case "causal-no-filter": configuration.causal.filterThreshold = 1
            case "causal-adaptive": configuration.causal.selection = .adaptive
            case "causal-hardest": configuration.causal.selection = .hardest
            default: return nil
            }
            return configuration
        }
        if name == "cnsdiff-reference" {
            var configuration = SamplerConfiguration(kind: .cnsdiffV1)
            configuration.variant = name
            configuration.cnsdiff = .reference
            return configuration
        }
        var configuration = SamplerConfiguration(kind: .cnsdiff)
        configuration.variant = name
        switch name {
        case "cnsdiff-no-intervention": configuration.cnsdiff.intervention = false
        case "cnsdiff-no-filter": configuration.cnsdiff.filterGenerated = false
        case "cnsdiff-no-invariance": configuration.cnsdiff.invarianceWeight = 0
        case "cnsdiff-t0": configuration.cnsdiff.keepDenoised = true
        case "cnsdiff-exposure":
            configuration.cnsdiff.learnExposure = true
            configuration.cnsdiff.keepDenoised = true
            configuration.cnsdiff.termWeight = 0
            configuration.cnsdiff.invarianceWeight = 0
        default: return nil
        }
        return configuration
    }

    package func makeSampler(dimension: Int, environments: Int) -> any NegativeSampler {
        switch kind {
        case .random: UniformNegativeSampler(maxAttempts: maxAttempts)
        case .popularity: PopularityNegativeSampler(exponent: popularityExponent, refreshEvery: popularityRefreshEvery,
                                                    maxAttempts: maxAttempts)
        case .dns: DynamicNegativeSampler(candidates: dnsCandidates, maxAttempts: maxAttempts)
        case .exposed: ExposedNegativeSampler(maxAttempts: maxAttempts)
        case .causal: CausalNegativeSampler(configuration: causal, name: name, maxAttempts: maxAttempts)
        case .cnsdiff:
            CNSDiffSampler(configuration: cnsdiff, causal: causal, dimension: dimension, environments: environments,
                           name: name, maxAttempts: maxAttempts)
        case .cnsdiffV1:
            CNSDiffV1Sampler(model: DiffusionModel(configuration: cnsdiff, dimension: dimension, environments: environments),
                             name: name, maxAttempts: maxAttempts)
        }
    }

    /// Whether the history must keep per-user impressions for this sampler.
    public var needsImpressions: Bool { kind == .exposed || kind == .causal || kind == .cnsdiff }
}
