/// A positive to train on: the user clicked the item at `timestamp`.
public struct PositiveExample: Sendable, Equatable {
    public var user: Int32
    public var item: Int32
    public var timestamp: Int64

    public init(user: Int32, item: Int32, timestamp: Int64) {
        self.user = user
        self.item = item
        self.timestamp = timestamp
    }
}

/// What a sampler may look at. The references are read-only by convention: a sampler must not
/// change the model, history or exposure state.
public struct SamplingContext {
    public let model: MatrixFactorization
    public let history: InteractionHistory
    public let exposure: ExposureEstimator
    /// Item rows without an item (evicted, not yet reused): never a negative.
    public let freeItems: ExcludedItems

    public init(model: MatrixFactorization, history: InteractionHistory, exposure: ExposureEstimator,
                freeItems: ExcludedItems = .none)
    {
        self.model = model
        self.history = history
        self.exposure = exposure
        self.freeItems = freeItems
    }
}

/// Chooses one negative item per positive, for a whole batch at once (so samplers that score
/// candidates or run a generator can batch the work).
public protocol NegativeSampler {
    /// The name used in configuration and reports.
    var name: String { get }

    /// Brings cached state up to date before a batch (e.g. a sampling table). Called once per
    /// batch, before `sampleNegatives` runs — possibly on copies of this sampler in parallel,
    /// which therefore must not change state the batch depends on.
    mutating func prepare(context: SamplingContext)

    /// Writes a negative item row for each positive into `negatives`, or −1 where none exists.
    /// All randomness comes from `random`.
    mutating func sampleNegatives(for positives: UnsafeBufferPointer<PositiveExample>,
                                  into negatives: UnsafeMutableBufferPointer<Int32>,
                                  context: SamplingContext, random: inout Xoshiro256)

    /// Writes whatever the sampler keeps between batches (tables, generators), for checkpoints.
    /// Users and items left the state (forgotten or evicted); their rows may soon hold others.
    mutating func forget(users: Set<Int32>, items: Set<Int32>)

    func writeState(to writer: inout StateWriter)

    /// Restores what `writeState` wrote.
    mutating func readState(from reader: inout StateReader) throws

    /// Checks restored state against the rest of the restored recommender (rows it names exist
    /// and are in use), so a crafted checkpoint is refused before a draw indexes past a table.
    func validateRestored(_ context: RestoredStateContext) throws
}

/// What the rest of a restored state says, for checks that cross components.
public struct RestoredStateContext {
    public let userCount: Int
    public let itemCount: Int
    /// Sorted free rows (no id).
    public let freeUsers: [Int32]
    public let freeItems: [Int32]
    /// Exposures recorded so far (`ExposureEstimator.recordedCount`).
    public let exposuresRecorded: Int
    public let environmentCount: Int
}

extension NegativeSampler {
    public mutating func prepare(context: SamplingContext) {}

    public mutating func forget(users: Set<Int32>, items: Set<Int32>) {}

    /// Stateless samplers write nothing.
    public func writeState(to writer: inout StateWriter) {}
    public mutating func readState(from reader: inout StateReader) throws {}
    public func validateRestored(_ context: RestoredStateContext) throws {}
}

extension SamplingContext {
    /// A uniform draw among the items `user` has not clicked (and that are not `positive`);
    /// −1 when `attempts` draws all hit clicked items.
    @inline(__always)
    public func uniformNegative(user: Int32, positive: Int32, attempts: Int, random: inout Xoshiro256) -> Int32 {
        let itemCount = model.itemCount
        guard itemCount > 1 else { return -1 }
        for _ in 0..<attempts {
            let candidate = Int32(truncatingIfNeeded: random.nextIndex(below: itemCount))
            if candidate != positive && !history.hasClicked(user: user, item: candidate) && !freeItems.contains(candidate) {
                return candidate
            }
        }
        return -1
    }
}

/// The samplers that can be named in configuration.
public enum SamplerKind: String, Sendable, Codable, CaseIterable {
    case random
    case popularity
    case dns
    case exposed
    case cnsdiff
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
    /// `cnsdiff`: the diffusion model and its regularisation.
    public var cnsdiff = CNSDiffConfiguration()
    /// The name reports use (a preset or ablation of a kind); nil = the kind's name.
    public var variant: String?

    public init(kind: SamplerKind = .random) {
        self.kind = kind
    }

    public var name: String { variant ?? kind.rawValue }

    /// The sampler names reports and `backtest --sampler` accept: the kinds, plus the CNSDiff
    /// preset and ablations.
    public static let names = SamplerKind.allCases.map(\.rawValue)
        + ["cnsdiff-reference", "cnsdiff-no-intervention", "cnsdiff-no-invariance", "cnsdiff-no-curriculum"]

    /// The configuration a name stands for (see `names`).
    public static func named(_ name: String) -> SamplerConfiguration? {
        if let kind = SamplerKind(rawValue: name) { return SamplerConfiguration(kind: kind) }
        var configuration = SamplerConfiguration(kind: .cnsdiff)
        configuration.variant = name
        switch name {
        case "cnsdiff-reference": configuration.cnsdiff = .reference
        case "cnsdiff-no-intervention": configuration.cnsdiff.intervention = false
        case "cnsdiff-no-invariance": configuration.cnsdiff.invarianceWeight = 0
        case "cnsdiff-no-curriculum": configuration.cnsdiff.curriculum = false
        default: return nil
        }
        return configuration
    }

    public func makeSampler(dimension: Int, environments: Int) -> any NegativeSampler {
        switch kind {
        case .random: UniformNegativeSampler(maxAttempts: maxAttempts)
        case .popularity: PopularityNegativeSampler(exponent: popularityExponent, refreshEvery: popularityRefreshEvery,
                                                    maxAttempts: maxAttempts)
        case .dns: DynamicNegativeSampler(candidates: dnsCandidates, maxAttempts: maxAttempts)
        case .exposed: ExposedNegativeSampler(maxAttempts: maxAttempts)
        case .cnsdiff:
            CNSDiffSampler(model: DiffusionModel(configuration: cnsdiff, dimension: dimension, environments: environments),
                           name: name, maxAttempts: maxAttempts)
        }
    }

    /// Whether the history must keep per-user impressions for this sampler.
    public var needsImpressions: Bool { kind == .exposed }
}
