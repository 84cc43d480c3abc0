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
    /// Seed of the validation carve-out (shared by all runs, so all see the same split).
    public var splitSeed: UInt64 = 20_251_129

    public init(dataDirectory: String) {
        self.dataDirectory = dataDirectory
        let trimmed = dataDirectory.hasSuffix("/") ? String(dataDirectory.dropLast()) : dataDirectory
        datasetName = trimmed.split(separator: "/").last.map(String.init) ?? trimmed
    }

    /// The hyper-parameter grid as model configurations.
    var grid: [ModelConfiguration] {
        let rates = learningRates.isEmpty ? [model.learningRate] : learningRates
        let weights = l2Weights.isEmpty ? [model.l2] : l2Weights
        return rates.flatMap { rate in
            weights.map { weight in
                var configuration = model
                configuration.learningRate = rate
                configuration.l2 = weight
                return configuration
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

        enum CodingKeys: String, CodingKey {
            case dimension, optimizer, l2, threads
            case learningRate = "learning_rate"
            case batchSize = "batch_size"
            case popularityAlpha = "popularity_alpha"
            case dnsCandidates = "dns_candidates"
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
