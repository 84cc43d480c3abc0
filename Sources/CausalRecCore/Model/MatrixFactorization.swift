/// How rows are updated from their gradients.
public enum OptimizerKind: String, Sendable, Codable, CaseIterable {
    /// Sparse Adam: per-row moments and bias correction (robust default for online learning).
    case adam
    /// Plain SGD: w −= lr · (g + λw) — what classic BPR implementations use.
    case sgd
}

/// Settings of the matrix-factorisation model.
public struct ModelConfiguration: Sendable, Equatable, Codable {
    public var dimension: Int = 64
    public var optimizer: OptimizerKind = .adam
    /// Threads a training batch is split over. Results depend only on the data and seed, not on
    /// this number (each row's gradient is summed in example order by the thread that owns it).
    public var threads: Int = 1
    public var learningRate: Float = 0.01
    /// L2 penalty added to the gradient of every row a batch touches (per batch).
    public var l2: Float = 0.01
    public var initialStandardDeviation: Float = 0.05
    public var useItemBias: Bool = true
    public var seed: UInt64 = 42
    /// What names an item row's starting values: its row index (one instance; every committed
    /// result was made so) or a stable hash of its id (several instances that share item rows
    /// must start each item alike, whichever row each gives it).
    public var itemInitialization: ItemInitialization = .row

    public init() {}
}

/// See `ModelConfiguration.itemInitialization`.
public enum ItemInitialization: String, Sendable, Codable, CaseIterable {
    case row
    case id
}

/// score(u, i) = ⟨p_u, q_i⟩ + b_i, with user and item rows that grow as ids appear, each
/// optimised by sparse Adam.
public final class MatrixFactorization {
    public let configuration: ModelConfiguration
    package let users: EmbeddingTable
    package let items: EmbeddingTable
    package let itemBias = FloatVector()
    /// Item rows (or biases) written since the quantized ranking copy last synchronised.
    package let changedItems = ChangedRows()
    let userOptimizer: SparseAdam
    let itemOptimizer: SparseAdam
    let biasOptimizer: ScalarAdam

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
            users.initializeRow(Int32(row), key: UInt64(row), standardDeviation: configuration.initialStandardDeviation, seed: userSeed)
        }
    }

    /// Adds initialised item rows (and zero biases) up to `count`.
    public func growItems(to count: Int) {
        let old = items.rowCount
        guard count > old else { return }
        items.grow(to: count)
        changedItems.grow(to: count)
        itemOptimizer.grow(to: count)
        biasOptimizer.grow(to: count)
        itemBias.grow(to: count)
        for row in old..<count {
            items.initializeRow(Int32(row), key: UInt64(row), standardDeviation: configuration.initialStandardDeviation, seed: itemSeed)
        }
    }

    /// Gives a user row back its initial values and fresh optimizer state (the row is freed or
    /// reused for another id: nothing learned about the previous one remains).
    public func resetUser(_ row: Int32) {
        users.initializeRow(row, key: UInt64(row), standardDeviation: configuration.initialStandardDeviation, seed: userSeed)
        userOptimizer.resetRow(row)
    }

    /// Gives item row `row` the initial values of `identifier` when items start from their id
    /// (`itemInitialization == .id`): drawn from a stable key of the id, not the row, so every
    /// instance (whatever row it gives the item) starts it alike and the updates instances
    /// exchange apply to the same starting point.
    public func initializeItem(_ row: Int32, identifier: String) {
        guard configuration.itemInitialization == .id else { return }
        items.initializeRow(row, key: StableKey.of(identifier), standardDeviation: configuration.initialStandardDeviation, seed: itemSeed)
    }

    /// The same for an item row, including its bias.
    public func resetItem(_ row: Int32) {
        items.initializeRow(row, key: UInt64(row), standardDeviation: configuration.initialStandardDeviation, seed: itemSeed)
        itemOptimizer.resetRow(row)
        biasOptimizer.resetRow(Int(row))
        itemBias[Int(row)] = 0
        changedItems.mark(row)
    }

    @inline(__always)
    public func score(user: Int32, item: Int32) -> Float {
        VectorKernels.dot(users.row(user), items.row(item), length: stride) + itemBias[Int(item)]
    }

    func applyBiasGradient(item: Int32, gradient: Float) {
        switch configuration.optimizer {
        case .adam: itemBias[Int(item)] += biasOptimizer.delta(index: Int(item), gradient: gradient)
        case .sgd: itemBias[Int(item)] -= configuration.learningRate * gradient
        }
    }

    /// Throws naming the first table that holds a value that is not a finite number: the rule the
    /// checkpoint reader applies, checked before a checkpoint is written so that every written
    /// checkpoint restores.
    public func checkFinite() throws {
        for (what, table) in [("user embeddings", users), ("item embeddings", items),
                              ("user optimizer first moments", userOptimizer.firstMoment),
                              ("user optimizer second moments", userOptimizer.secondMoment),
                              ("item optimizer first moments", itemOptimizer.firstMoment),
                              ("item optimizer second moments", itemOptimizer.secondMoment)] where table.rowCount > 0
        {
            try StateCheck.finite(table.row(0), count: table.rowCount * table.stride, what)
        }
        for (what, vector) in [("item biases", itemBias), ("bias optimizer first moments", biasOptimizer.firstMoment),
                               ("bias optimizer second moments", biasOptimizer.secondMoment)]
        {
            for index in 0..<vector.count where !vector[index].isFinite {
                throw StateReadError("\(what): value \(index) is not a finite number")
            }
        }
    }

    // MARK: State

    public func writeState(to writer: inout StateWriter) {
        writer.beginSection("MFAC")
        users.writeState(to: &writer)
        items.writeState(to: &writer)
        itemBias.writeState(to: &writer)
        userOptimizer.writeState(to: &writer)
        itemOptimizer.writeState(to: &writer)
        biasOptimizer.writeState(to: &writer)
        writer.endSection()
    }

    public func readState(from reader: inout StateReader) throws {
        try reader.beginSection("MFAC")
        try users.readState(from: &reader, "user embeddings")
        try items.readState(from: &reader, "item embeddings")
        try itemBias.readState(from: &reader, "item biases")
        try userOptimizer.readState(from: &reader, "user optimizer")
        try itemOptimizer.readState(from: &reader, "item optimizer")
        try biasOptimizer.readState(from: &reader, "bias optimizer")
        try reader.endSection()
        changedItems.grow(to: items.rowCount)
        changedItems.markAll()
        guard userOptimizer.firstMoment.rowCount == users.rowCount,
              itemOptimizer.firstMoment.rowCount == items.rowCount,
              itemBias.count == items.rowCount, biasOptimizer.firstMoment.count == items.rowCount
        else {
            throw StateReadError("the model's tables disagree on the number of rows (users \(users.rowCount), user optimizer \(userOptimizer.firstMoment.rowCount), items \(items.rowCount), item optimizer \(itemOptimizer.firstMoment.rowCount), biases \(itemBias.count), bias optimizer \(biasOptimizer.firstMoment.count))")
        }
    }
}
