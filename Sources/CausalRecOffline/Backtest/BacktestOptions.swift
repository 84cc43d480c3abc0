import CausalRecCore

/// What a backtest runs: data, splits, samplers, the training budget and the hyper-parameter grid.
/// Every sampler gets the same grid, epochs, patience and seeds — the same tuning budget — and
/// every choice (configuration, epoch) is made on the validation split by NDCG@20.
public struct BacktestOptions: Sendable {
    public var dataDirectory: String
    public var datasetName: String
    public var trainSplit = "train"
    /// Validation split file; when it does not exist and `validFraction` is set, validation is
    /// carved from the training split instead.
    public var validSplit = "valid_iid"
    public var validFraction: Double?
    public var testSplits = ["test", "test_iid"]
    public var samplers: [SamplerConfiguration] = [SamplerConfiguration()]
    public var model = ModelConfiguration()
    public var batchSize = 1_024
    /// Maximum epochs; 1 = a single streaming pass.
    public var epochs = 30
    /// Stop after this many epochs without a better validation NDCG@20.
    public var patience = 5
    public var seeds = 3
    public var firstSeed: UInt64 = 1
    /// Learning rates × L2 weights tried for every sampler; empty lists mean the model's values.
    public var learningRates: [Float] = []
    public var l2Weights: [Float] = []
    public var includeFloors = true
    /// γ of the deconfounded training score g(x)·r^γ tried for every sampler (a grid axis).
    public var trainingExponents: [Double] = [0]
    /// γ̃ of the adjusted ranking g(x)·r̃^γ̃, chosen on validation at every epoch (no retraining).
    public var rankingExponents: [Double] = [0]
    /// What the adjusted ranking may multiply by (chosen on validation with γ̃).
    public var confounders: [RankingVariant.Confounder] = [.exposure, .clicks]
    /// Users with fewer training clicks get their own γ̃ (chosen on validation from the same
    /// list); 0 = one γ̃ for everyone.
    public var coldStartClicks = 0
    /// EASE beside the samplers: λ chosen on validation; refused above `easeMaxItems` items.
    public var easeLambdas: [Double] = []
    public var easeMaxItems = 20_000
    /// What counts as exposure (for the deconfounded score, the adjusted ranking, the environments).
    public var exposureSource: ExposureSource = .auto
    /// Seed of the validation carve-out (shared by all runs, so all see the same split).
    public var splitSeed: UInt64 = 20_251_129

    /// The recommended protocol: what `causalrec backtest --data DIR` runs without tuning flags and
    /// what the committed results report (the command line's defaults, as text).
    public enum Recommended {
        public static let epochs = 100
        public static let patience = 10
        public static let learningRates = "0.001"
        public static let l2Weights = "0.03,0.1"
        public static let trainingExponents = "0,0.15"
        public static let rankingExponents = "0,0.1,0.25,0.5,1,2"
        public static let confounders = "exposure,clicks"
        public static let coldStartClicks = 3
        public static let easeLambdas = "10,100,1000,3000,10000,30000,100000,300000"
    }

    public init(dataDirectory: String) {
        self.dataDirectory = dataDirectory
        let trimmed = dataDirectory.hasSuffix("/") ? String(dataDirectory.dropLast()) : dataDirectory
        datasetName = trimmed.split(separator: "/").last.map(String.init) ?? trimmed
    }

    /// One point of the hyper-parameter grid.
    struct GridPoint {
        var model: ModelConfiguration
        var trainingExponent: Double
    }

    /// The hyper-parameter grid: learning rates × L2 weights × training exponents.
    var grid: [GridPoint] {
        let rates = learningRates.isEmpty ? [model.learningRate] : learningRates
        let weights = l2Weights.isEmpty ? [model.l2] : l2Weights
        return rates.flatMap { rate in
            weights.flatMap { weight in
                trainingExponents.map { exponent in
                    var configuration = model
                    configuration.learningRate = rate
                    configuration.l2 = weight
                    return GridPoint(model: configuration, trainingExponent: exponent)
                }
            }
        }
    }
}

/// One line of a backtest report: a sampler (or floor) × seed × split, at the selected epoch.
public struct BacktestRecord: Sendable, Codable, Equatable {
    public struct Settings: Sendable, Codable, Equatable {
        public var dimension: Int
        public var optimizer: String
        public var learningRate: Float
        public var l2: Float
        public var batchSize: Int
        public var threads: Int
        public var popularityAlpha: Double?
        public var dnsCandidates: Int?
        /// The `causal` sampler's settings (its records only).
        public var causal: CausalSamplerConfiguration?
        /// γ of training, γ̃ of ranking (and for users with fewer than `coldStartClicks` clicks).
        public var trainingExponent: Double?
        public var ranking: RankingVariant?
        /// EASE's λ (the peer's records only).
        public var easeLambda: Double?

        enum CodingKeys: String, CodingKey {
            case dimension, optimizer, l2, threads, ranking, causal
            case learningRate = "learning_rate"
            case batchSize = "batch_size"
            case popularityAlpha = "popularity_alpha"
            case dnsCandidates = "dns_candidates"
            case trainingExponent = "training_exponent"
            case easeLambda = "ease_lambda"
        }
    }

    public var dataset: String
    public var sampler: String
    public var seed: UInt64
    public var split: String
    /// The epoch chosen on validation (0 for the floors).
    public var epochs: Int
    public var metrics: [String: Double]
    public var users: Int
    public var validationNDCG20: Double?
    public var settings: Settings?
    public var trainSeconds: Double?
    /// Training examples (triplets) per second over the run's epochs.
    public var samplesPerSecond: Double?
    /// What the sampler's negatives looked like at the end of training.
    public var negatives: NegativeDiagnostics?

    enum CodingKeys: String, CodingKey {
        case dataset, sampler, seed, split, epochs, metrics, users, settings, negatives
        case validationNDCG20 = "validation_ndcg@20"
        case trainSeconds = "train_seconds"
        case samplesPerSecond = "samples_per_second"
    }
}
