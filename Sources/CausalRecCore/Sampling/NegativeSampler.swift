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

    public init(model: MatrixFactorization, history: InteractionHistory, exposure: ExposureEstimator) {
        self.model = model
        self.history = history
        self.exposure = exposure
    }
}

/// Chooses one negative item per positive, for a whole batch at once (so samplers that score
/// candidates or run a generator can batch the work).
public protocol NegativeSampler {
    /// The name used in configuration and reports.
    var name: String { get }

    /// Writes a negative item row for each positive into `negatives`, or −1 where none exists.
    /// All randomness comes from `random`.
    mutating func sampleNegatives(for positives: UnsafeBufferPointer<PositiveExample>,
                                  into negatives: UnsafeMutableBufferPointer<Int32>,
                                  context: SamplingContext, random: inout Xoshiro256)
}

/// The samplers that can be named in configuration.
public enum SamplerKind: String, Sendable, Codable, CaseIterable {
    case random

    public func makeSampler() -> any NegativeSampler {
        switch self {
        case .random: UniformNegativeSampler()
        }
    }
}
