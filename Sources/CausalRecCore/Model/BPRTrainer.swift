/// One BPR training example: the user preferred `positive` over `negative`.
public struct TrainingTriplet: Sendable, Equatable {
    public var user: Int32
    public var positive: Int32
    public var negative: Int32

    public init(user: Int32, positive: Int32, negative: Int32) {
        self.user = user
        self.positive = positive
        self.negative = negative
    }
}

/// Mini-batch BPR (Rendle et al. 2009): loss = −log σ(ŝ(u,i) − ŝ(u,j)).
///
/// A batch is applied as one step: all scores are computed from the weights as they were before
/// the batch, gradients are summed per touched row into scratch rows, and each touched row then
/// gets its L2 term and one sparse-Adam step. No allocation per example: the row → scratch-slot
/// maps and the scratch tables are reused across batches.
public final class BPRTrainer {
    public let model: MatrixFactorization
    private var userSlots = SlotMap()
    private var itemSlots = SlotMap()
    private let userGradients: EmbeddingTable
    private let itemGradients: EmbeddingTable
    private var biasGradients: [Float] = []

    public init(model: MatrixFactorization) {
        self.model = model
        userGradients = EmbeddingTable(dimension: model.dimension, initialCapacity: 256)
        itemGradients = EmbeddingTable(dimension: model.dimension, initialCapacity: 512)
    }

    /// Trains on one batch and returns the mean BPR loss before the update. Triplets whose
    /// negative is negative (no sample found) are skipped.
    @discardableResult
    public func train(_ triplets: UnsafeBufferPointer<TrainingTriplet>) -> Float {
        let stride = model.stride
        userSlots.reserve(rows: model.userCount)
        itemSlots.reserve(rows: model.itemCount)
        var used = 0
        for triplet in triplets where triplet.negative >= 0 {
            _ = userSlots.slot(for: triplet.user)
            _ = itemSlots.slot(for: triplet.positive)
            _ = itemSlots.slot(for: triplet.negative)
            used += 1
        }
        guard used > 0 else { return 0 }
        userGradients.grow(to: userSlots.touched.count)
        itemGradients.grow(to: itemSlots.touched.count)
        if biasGradients.count < itemSlots.touched.count {
            biasGradients.append(contentsOf: repeatElement(0, count: itemSlots.touched.count - biasGradients.count))
        }

        var loss: Float = 0
        let users = model.users
        let items = model.items
        model.itemBias.withUnsafeBufferPointer { bias in
            for triplet in triplets where triplet.negative >= 0 {
                let p = UnsafePointer(users.row(triplet.user))
                let qi = UnsafePointer(items.row(triplet.positive))
                let qj = UnsafePointer(items.row(triplet.negative))
                let x = VectorKernels.dotDifference(p, qi, qj, length: stride)
                    + bias[Int(triplet.positive)] - bias[Int(triplet.negative)]
                loss += softplus(-x)
                let g = -sigmoid(-x)
                let userSlot = userSlots.existingSlot(for: triplet.user)
                let positiveSlot = itemSlots.existingSlot(for: triplet.positive)
                let negativeSlot = itemSlots.existingSlot(for: triplet.negative)
                VectorKernels.axpyDifference(g, qi, qj, userGradients.row(userSlot), length: stride)
                VectorKernels.axpy(g, p, itemGradients.row(positiveSlot), length: stride)
                VectorKernels.axpy(-g, p, itemGradients.row(negativeSlot), length: stride)
                biasGradients[Int(positiveSlot)] += g
                biasGradients[Int(negativeSlot)] -= g
            }
        }

        let l2 = model.configuration.l2
        for (slot, row) in userSlots.touched.enumerated() {
            let gradient = userGradients.row(Int32(slot))
            let weights = users.row(row)
            VectorKernels.axpy(l2, weights, gradient, length: stride)
            model.userOptimizer.step(row: row, weights: weights, gradient: gradient, stride: stride)
            gradient.update(repeating: 0, count: stride)
        }
        let useBias = model.configuration.useItemBias
        for (slot, row) in itemSlots.touched.enumerated() {
            let gradient = itemGradients.row(Int32(slot))
            let weights = items.row(row)
            VectorKernels.axpy(l2, weights, gradient, length: stride)
            model.itemOptimizer.step(row: row, weights: weights, gradient: gradient, stride: stride)
            gradient.update(repeating: 0, count: stride)
            if useBias {
                model.applyBiasGradient(item: row, gradient: biasGradients[slot] + l2 * model.itemBias[Int(row)])
            }
            biasGradients[slot] = 0
        }
        userSlots.reset()
        itemSlots.reset()
        return loss / Float(used)
    }
}

/// Row number → dense scratch slot, for the rows one batch touches.
struct SlotMap {
    private var slots: [Int32] = []
    private(set) var touched: [Int32] = []

    mutating func reserve(rows: Int) {
        if slots.count < rows {
            slots.append(contentsOf: repeatElement(-1, count: rows - slots.count))
        }
    }

    @inline(__always)
    mutating func slot(for row: Int32) -> Int32 {
        let existing = slots[Int(row)]
        if existing >= 0 { return existing }
        let slot = Int32(touched.count)
        slots[Int(row)] = slot
        touched.append(row)
        return slot
    }

    @inline(__always)
    func existingSlot(for row: Int32) -> Int32 {
        slots[Int(row)]
    }

    mutating func reset() {
        for row in touched { slots[Int(row)] = -1 }
        touched.removeAll(keepingCapacity: true)
    }
}
