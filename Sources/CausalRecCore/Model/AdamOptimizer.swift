/// Hyper-parameters of Adam (Kingma & Ba 2015).
public struct AdamSettings: Sendable, Equatable, Codable {
    public var learningRate: Float
    public var beta1: Float = 0.9
    public var beta2: Float = 0.999
    public var epsilon: Float = 1e-8

    public init(learningRate: Float, beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8) {
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
    }
}

/// Sparse ("lazy") Adam over the rows of an `EmbeddingTable`: moments are kept per row and only
/// the rows a batch touched are updated, each with its own step count for bias correction — the
/// usual choice for embeddings, where most rows see no gradient in a given step. Instead of the
/// step count, each row keeps β₁ᵗ and β₂ᵗ, which turns two `pow` calls per update into two
/// multiplications.
package final class SparseAdam {
    package let settings: AdamSettings
    let firstMoment: EmbeddingTable
    let secondMoment: EmbeddingTable
    package let powers = AdamPowers()

    package init(dimension: Int, settings: AdamSettings) {
        self.settings = settings
        firstMoment = EmbeddingTable(dimension: dimension)
        secondMoment = EmbeddingTable(dimension: dimension)
    }

    package func grow(to count: Int) {
        firstMoment.grow(to: count)
        secondMoment.grow(to: count)
        powers.grow(to: count)
    }

    /// Forgets a row's moments (it will hold a new id's parameters).
    package func resetRow(_ index: Int32) {
        let stride = firstMoment.stride
        firstMoment.row(index).update(repeating: 0, count: stride)
        secondMoment.row(index).update(repeating: 0, count: stride)
        powers.reset(Int(index))
    }

    /// Applies one Adam step to `weights` (a row of `stride` floats) with `gradient`.
    @inline(__always)
    package func step(row index: Int32, weights: UnsafeMutablePointer<Float>, gradient: UnsafePointer<Float>, stride: Int) {
        let (power1, power2) = powers.advance(Int(index), settings)
        let correction1 = 1 - power1
        let correction2 = 1 - power2
        // Folding the bias corrections into the step size and epsilon avoids two divides per lane.
        let stepSize = settings.learningRate * correction2.squareRoot() / correction1
        let epsilon = VectorKernels.Chunk(repeating: settings.epsilon * correction2.squareRoot())
        let beta1 = VectorKernels.Chunk(repeating: settings.beta1)
        let beta2 = VectorKernels.Chunk(repeating: settings.beta2)
        let oneMinusBeta1 = VectorKernels.Chunk(repeating: 1 - settings.beta1)
        let oneMinusBeta2 = VectorKernels.Chunk(repeating: 1 - settings.beta2)
        let negativeStep = VectorKernels.Chunk(repeating: -stepSize)
        let m = firstMoment.row(index)
        let v = secondMoment.row(index)
        for chunk in 0..<(stride &>> 3) {
            let g = VectorKernels.load(gradient, chunk)
            var mNew = VectorKernels.load(m, chunk) * beta1
            mNew.addProduct(oneMinusBeta1, g)
            var vNew = VectorKernels.load(v, chunk) * beta2
            vNew.addProduct(oneMinusBeta2, g * g)
            VectorKernels.store(mNew, m, chunk)
            VectorKernels.store(vNew, v, chunk)
            var w = VectorKernels.load(weights, chunk)
            w.addProduct(negativeStep, mNew / (vNew.squareRoot() + epsilon))
            VectorKernels.store(w, weights, chunk)
        }
    }

    // MARK: State

    package func writeState(to writer: inout StateWriter) {
        firstMoment.writeState(to: &writer)
        secondMoment.writeState(to: &writer)
        powers.writeState(to: &writer)
    }

    package func readState(from reader: inout StateReader, _ what: String) throws {
        try firstMoment.readState(from: &reader, "\(what) first moments")
        try secondMoment.readState(from: &reader, "\(what) second moments")
        try powers.readState(from: &reader, names: ("\(what) β₁ powers", "\(what) β₂ powers"))
        try powers.check(rows: firstMoment.rowCount, otherCounts: [secondMoment.rowCount], what)
        for row in 0..<secondMoment.rowCount {
            let pointer = secondMoment.row(Int32(row))
            for column in 0..<secondMoment.stride where pointer[column] < 0 {
                throw StateReadError("\(what): a negative second moment in row \(row)")
            }
        }
    }
}

/// Adam on a vector of scalars (item biases), same lazy per-entry steps. Entries live in
/// `FloatVector`s so parallel owners may update different entries at once.
package final class ScalarAdam {
    package let settings: AdamSettings
    package let firstMoment = FloatVector()
    package let secondMoment = FloatVector()
    package let powers = AdamPowers()

    package init(settings: AdamSettings) {
        self.settings = settings
    }

    package func grow(to count: Int) {
        firstMoment.grow(to: count)
        secondMoment.grow(to: count)
        powers.grow(to: count)
    }

    package func resetRow(_ index: Int) {
        firstMoment[index] = 0
        secondMoment[index] = 0
        powers.reset(index)
    }

    /// Returns the change to apply to the parameter.
    package func delta(index: Int, gradient: Float) -> Float {
        let (power1, power2) = powers.advance(index, settings)
        let m = settings.beta1 * firstMoment[index] + (1 - settings.beta1) * gradient
        let v = settings.beta2 * secondMoment[index] + (1 - settings.beta2) * gradient * gradient
        firstMoment[index] = m
        secondMoment[index] = v
        let mHat = m / (1 - power1)
        let vHat = v / (1 - power2)
        return -settings.learningRate * mHat / (vHat.squareRoot() + settings.epsilon)
    }

    // MARK: State

    package func writeState(to writer: inout StateWriter) {
        for vector in [firstMoment, secondMoment, powers.beta1, powers.beta2] { vector.writeState(to: &writer) }
    }

    package func readState(from reader: inout StateReader, _ what: String) throws {
        for vector in [firstMoment, secondMoment, powers.beta1, powers.beta2] { try vector.readState(from: &reader, what) }
        try powers.check(rows: firstMoment.count, otherCounts: [secondMoment.count], what)
        for index in 0..<secondMoment.count where secondMoment[index] < 0 {
            throw StateReadError("\(what): a negative second moment at \(index)")
        }
    }
}

/// β₁ᵗ and β₂ᵗ of each row of a lazy Adam (1 before the row's first step): each row keeps its own
/// step count for bias correction, and keeping the powers turns two `pow` calls per update into
/// two multiplications.
package final class AdamPowers {
    package let beta1 = FloatVector(fill: 1)
    package let beta2 = FloatVector(fill: 1)

    func grow(to count: Int) {
        beta1.grow(to: count)
        beta2.grow(to: count)
    }

    func reset(_ index: Int) {
        beta1[index] = 1
        beta2[index] = 1
    }

    /// One more step of row `index`: its new (β₁ᵗ, β₂ᵗ).
    @inline(__always)
    func advance(_ index: Int, _ settings: AdamSettings) -> (Float, Float) {
        let power1 = beta1[index] * settings.beta1
        let power2 = beta2[index] * settings.beta2
        beta1[index] = power1
        beta2[index] = power2
        return (power1, power2)
    }

    func writeState(to writer: inout StateWriter) {
        beta1.writeState(to: &writer)
        beta2.writeState(to: &writer)
    }

    func readState(from reader: inout StateReader, names: (String, String)) throws {
        try beta1.readState(from: &reader, names.0)
        try beta2.readState(from: &reader, names.1)
    }

    /// Every table of a restored optimizer has one entry per row, and the powers lie in (0, 1].
    func check(rows: Int, otherCounts: [Int], _ what: String) throws {
        let counts = otherCounts + [beta1.count, beta2.count]
        guard counts.allSatisfy({ $0 == rows }) else {
            throw StateReadError("\(what): its tables have \([rows] + counts) rows, which disagree")
        }
        for vector in [beta1, beta2] {
            for index in 0..<vector.count where !(vector[index] > 0 && vector[index] <= 1) {
                throw StateReadError("\(what): a β power of \(vector[index]) at row \(index)")
            }
        }
    }
}
