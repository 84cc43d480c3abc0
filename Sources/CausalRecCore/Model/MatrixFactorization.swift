/// Settings of the matrix-factorisation model.
public struct ModelConfiguration: Sendable, Equatable, Codable {
    public var dimension: Int = 64
    public var learningRate: Float = 0.01
    /// L2 penalty added to the gradient of every row a batch touches (per batch).
    public var l2: Float = 0.01
    public var initialStandardDeviation: Float = 0.05
    public var useItemBias: Bool = true
    public var seed: UInt64 = 42

    public init() {}
}

/// score(u, i) = ⟨p_u, q_i⟩ + b_i, with user and item rows that grow as ids appear, each
/// optimised by sparse Adam.
public final class MatrixFactorization {
    public let configuration: ModelConfiguration
    public let users: EmbeddingTable
    public let items: EmbeddingTable
    public private(set) var itemBias: [Float] = []
    let userOptimizer: SparseAdam
    let itemOptimizer: SparseAdam
    var biasOptimizer: ScalarAdam

    /// Distinct seeds per table so user row 3 and item row 3 start differently.
    private var userSeed: UInt64 { SplitMix64.mix(configuration.seed, 0x7573_6572) }
    private var itemSeed: UInt64 { SplitMix64.mix(configuration.seed, 0x6974_656D) }

    public init(configuration: ModelConfiguration) {
        self.configuration = configuration
        users = EmbeddingTable(dimension: configuration.dimension)
        items = EmbeddingTable(dimension: configuration.dimension)
        let adam = AdamSettings(learningRate: configuration.learningRate)
        userOptimizer = SparseAdam(dimension: configuration.dimension, settings: adam)
        itemOptimizer = SparseAdam(dimension: configuration.dimension, settings: adam)
        biasOptimizer = ScalarAdam(settings: adam)
    }

    public var dimension: Int { configuration.dimension }
    public var stride: Int { users.stride }
    public var userCount: Int { users.rowCount }
    public var itemCount: Int { items.rowCount }

    /// Adds initialised user rows up to `count`.
    public func growUsers(to count: Int) {
        let old = users.rowCount
        guard count > old else { return }
        users.grow(to: count)
        userOptimizer.grow(to: count)
        for row in old..<count {
            users.initializeRow(Int32(row), standardDeviation: configuration.initialStandardDeviation, seed: userSeed)
        }
    }

    /// Adds initialised item rows (and zero biases) up to `count`.
    public func growItems(to count: Int) {
        let old = items.rowCount
        guard count > old else { return }
        items.grow(to: count)
        itemOptimizer.grow(to: count)
        biasOptimizer.grow(to: count)
        itemBias.append(contentsOf: repeatElement(0, count: count - old))
        for row in old..<count {
            items.initializeRow(Int32(row), standardDeviation: configuration.initialStandardDeviation, seed: itemSeed)
        }
    }

    @inline(__always)
    public func score(user: Int32, item: Int32) -> Float {
        VectorKernels.dot(users.row(user), items.row(item), length: stride) + itemBias[Int(item)]
    }

    func applyBiasGradient(item: Int32, gradient: Float) {
        itemBias[Int(item)] += biasOptimizer.delta(index: Int(item), gradient: gradient)
    }
}
