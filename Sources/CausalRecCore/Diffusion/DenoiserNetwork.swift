/// Shape of the denoiser: inputs [x_t (d), user (d, optional), environment embedding (optional),
/// sinusoidal time embedding] → hidden → hidden → output (d).
public struct DenoiserLayout: Sendable, Equatable {
    public var dimension: Int
    public var hidden: Int
    public var environments: Int
    public var environmentDimension: Int
    public var timeDimension: Int
    public var conditionOnUser: Bool
    public var conditionOnEnvironment: Bool

    var userOffset: Int { dimension }
    var environmentOffset: Int { dimension + (conditionOnUser ? dimension : 0) }
    var timeOffset: Int { environmentOffset + (conditionOnEnvironment ? environmentDimension : 0) }
    public var inputWidth: Int { timeOffset + timeDimension }

    /// Multiply-adds of one forward pass for one row.
    public var multiplyAddsPerRow: Int { inputWidth * hidden + hidden * hidden + hidden * dimension }
}

extension DenoiserLayout {
    /// The layout a CNSDiff configuration asks for, over embeddings of `dimension` and
    /// `environments` exposure environments. (Declared outside the type so Swift still writes
    /// the internal memberwise form the tests use.)
    public init(configuration: CNSDiffConfiguration, dimension: Int, environments: Int) {
        self.init(dimension: dimension, hidden: configuration.hiddenWidth, environments: environments,
                  environmentDimension: configuration.environmentEmbedding, timeDimension: configuration.timeEmbedding,
                  conditionOnUser: configuration.conditionOnUser, conditionOnEnvironment: configuration.conditionOnEnvironment)
    }
}

/// The denoiser's weights. Also used to hold their gradients, which have the same shapes.
public final class DenoiserParameters {
    public let layout: DenoiserLayout
    public let w1: DenseMatrix
    public let b1: DenseMatrix
    public let w2: DenseMatrix
    public let b2: DenseMatrix
    public let w3: DenseMatrix
    public let b3: DenseMatrix
    /// One learned row per exposure environment.
    public let environment: DenseMatrix

    public var tensors: [DenseMatrix] { [w1, b1, w2, b2, w3, b3, environment] }

    /// Zero-filled (gradients) or initialised (weights: Glorot-normal, small biases).
    public init(layout: DenoiserLayout, initializeWith seed: UInt64?) {
        self.layout = layout
        w1 = DenseMatrix(rows: layout.inputWidth, columns: layout.hidden)
        b1 = DenseMatrix(rows: 1, columns: layout.hidden)
        w2 = DenseMatrix(rows: layout.hidden, columns: layout.hidden)
        b2 = DenseMatrix(rows: 1, columns: layout.hidden)
        w3 = DenseMatrix(rows: layout.hidden, columns: layout.dimension)
        b3 = DenseMatrix(rows: 1, columns: layout.dimension)
        environment = DenseMatrix(rows: max(1, layout.environments), columns: max(1, layout.environmentDimension))
        guard let seed else { return }
        var random = Xoshiro256(seed: seed)
        func glorot(_ matrix: DenseMatrix) {
            let std = (2.0 / Double(matrix.rows + matrix.columns)).squareRoot()
            for index in 0..<matrix.count { matrix.values[index] = Float(random.nextGaussian() * std) }
        }
        func small(_ matrix: DenseMatrix, _ std: Double) {
            for index in 0..<matrix.count { matrix.values[index] = Float(random.nextGaussian() * std) }
        }
        glorot(w1)
        glorot(w2)
        glorot(w3)
        small(b1, 0.001)
        small(b2, 0.001)
        small(b3, 0.001)
        small(environment, 0.1)
    }

    public func copy() -> DenoiserParameters {
        let result = DenoiserParameters(layout: layout, initializeWith: nil)
        for (target, source) in zip(result.tensors, tensors) { target.copy(from: source) }
        return result
    }

    public func zero() {
        for tensor in tensors { tensor.fill(0) }
    }

    public var parameterCount: Int { tensors.reduce(0) { $0 + $1.count } }

    // MARK: State

    public func writeState(to writer: inout StateWriter) {
        for tensor in tensors {
            writer.write(tensor.rows)
            writer.write(floats: tensor.values, count: tensor.count)
        }
    }

    public func readState(from reader: inout StateReader, _ what: String) throws {
        for (index, tensor) in tensors.enumerated() {
            try reader.expect(try reader.readInt(), equals: tensor.rows, "\(what) tensor \(index) rows (the denoiser layout)")
            try reader.readFloats(into: tensor.values, expectedCount: tensor.count, "\(what) tensor \(index)")
            try StateCheck.finite(tensor.values, count: tensor.count, "\(what) tensor \(index)")
        }
    }
}

/// The denoiser's computation for batches of up to `capacity` rows, with the activations kept
/// for the backward pass. Every layer is one matrix product over the whole batch.
public final class DenoiserNetwork {
    public let layout: DenoiserLayout
    public let activation: DenoiserActivation
    public let capacity: Int
    /// Sinusoidal embedding of each step index, precomputed.
    let timeTable: DenseMatrix
    public let input: DenseMatrix
    let z1: DenseMatrix
    let a1: DenseMatrix
    let z2: DenseMatrix
    let a2: DenseMatrix
    public let output: DenseMatrix
    let gradient1: DenseMatrix
    let gradient2: DenseMatrix
    let inputGradient: DenseMatrix
    private var environmentIndices: [Int]

    public init(layout: DenoiserLayout, activation: DenoiserActivation, steps: Int, capacity: Int) {
        self.layout = layout
        self.activation = activation
        self.capacity = capacity
        timeTable = DenseMatrix(rows: steps, columns: layout.timeDimension)
        let half = layout.timeDimension / 2
        for t in 0..<steps {
            for k in 0..<half {
                let frequency = _exp(-_log(10_000) * Double(k) / Double(max(half, 1)))
                timeTable[t, k] = Float(_cos(Double(t) * frequency))
                timeTable[t, half + k] = Float(_sin(Double(t) * frequency))
            }
        }
        input = DenseMatrix(rows: capacity, columns: layout.inputWidth)
        z1 = DenseMatrix(rows: capacity, columns: layout.hidden)
        a1 = DenseMatrix(rows: capacity, columns: layout.hidden)
        z2 = DenseMatrix(rows: capacity, columns: layout.hidden)
        a2 = DenseMatrix(rows: capacity, columns: layout.hidden)
        output = DenseMatrix(rows: capacity, columns: layout.dimension)
        gradient1 = DenseMatrix(rows: capacity, columns: layout.hidden)
        gradient2 = DenseMatrix(rows: capacity, columns: layout.hidden)
        inputGradient = DenseMatrix(rows: capacity, columns: layout.inputWidth)
        environmentIndices = [Int](repeating: 0, count: capacity)
    }

    /// Writes row `row` of the input: x_t, then (when conditioned) the user vector and the
    /// environment's embedding, then the time embedding.
    @inline(__always)
    public func setInput(row: Int, noisy: UnsafePointer<Float>, user: UnsafePointer<Float>?, environment: Int, step: Int,
                         parameters: DenoiserParameters)
    {
        let destination = input.row(row)
        destination.update(from: noisy, count: layout.dimension)
        if layout.conditionOnUser, let user {
            (destination + layout.userOffset).update(from: user, count: layout.dimension)
        }
        if layout.conditionOnEnvironment {
            (destination + layout.environmentOffset).update(from: parameters.environment.row(environment),
                                                           count: layout.environmentDimension)
        }
        environmentIndices[row] = environment
        (destination + layout.timeOffset).update(from: timeTable.row(step), count: layout.timeDimension)
    }

    /// The noisy-input part of row `row` (for callers that fill or update it in place).
    public func noisyInput(row: Int) -> UnsafeMutablePointer<Float> {
        input.row(row)
    }

    /// Sets the time embedding of row `row` (reverse chains change only x_t and t between steps).
    public func setStep(row: Int, step: Int) {
        (input.row(row) + layout.timeOffset).update(from: timeTable.row(step), count: layout.timeDimension)
    }

    /// output[0..<rows] = MLP(input[0..<rows]).
    public func forward(_ parameters: DenoiserParameters, rows: Int) {
        precondition(rows <= capacity)
        Gemm.multiply(input, parameters.w1, into: z1, rows: rows)
        addBias(parameters.b1, to: z1, rows: rows)
        activate(z1, into: a1, rows: rows)
        Gemm.multiply(a1, parameters.w2, into: z2, rows: rows)
        addBias(parameters.b2, to: z2, rows: rows)
        activate(z2, into: a2, rows: rows)
        Gemm.multiply(a2, parameters.w3, into: output, rows: rows)
        addBias(parameters.b3, to: output, rows: rows)
    }

    /// Accumulates into `gradients` the gradient of a loss whose derivative with respect to
    /// `output[0..<rows]` is `outputGradient` (same shape). Must follow `forward` on the same rows.
    public func backward(_ parameters: DenoiserParameters, outputGradient: DenseMatrix, rows: Int,
                         into gradients: DenoiserParameters)
    {
        Gemm.multiplyTransposedA(a2, outputGradient, into: gradients.w3, rows: rows, accumulate: true)
        sumRows(outputGradient, rows: rows, into: gradients.b3)
        Gemm.multiplyTransposedB(outputGradient, parameters.w3, into: gradient2, rows: rows)
        multiplyByDerivative(gradient2, preActivation: z2, activated: a2, rows: rows)
        Gemm.multiplyTransposedA(a1, gradient2, into: gradients.w2, rows: rows, accumulate: true)
        sumRows(gradient2, rows: rows, into: gradients.b2)
        Gemm.multiplyTransposedB(gradient2, parameters.w2, into: gradient1, rows: rows)
        multiplyByDerivative(gradient1, preActivation: z1, activated: a1, rows: rows)
        Gemm.multiplyTransposedA(input, gradient1, into: gradients.w1, rows: rows, accumulate: true)
        sumRows(gradient1, rows: rows, into: gradients.b1)
        if layout.conditionOnEnvironment {
            // The environment embedding is an input; its gradient is that input slice's.
            Gemm.multiplyTransposedB(gradient1, parameters.w1, into: inputGradient, rows: rows)
            let offset = layout.environmentOffset
            for row in 0..<rows {
                let source = inputGradient.row(row) + offset
                let target = gradients.environment.row(environmentIndices[row])
                for column in 0..<layout.environmentDimension { target[column] += source[column] }
            }
        }
    }

    private func addBias(_ bias: DenseMatrix, to matrix: DenseMatrix, rows: Int) {
        let width = matrix.columns
        for row in 0..<rows {
            let target = matrix.row(row)
            for column in 0..<width { target[column] += bias.values[column] }
        }
    }

    private func sumRows(_ matrix: DenseMatrix, rows: Int, into target: DenseMatrix) {
        let width = matrix.columns
        for row in 0..<rows {
            let source = matrix.row(row)
            for column in 0..<width { target.values[column] += source[column] }
        }
    }

    private func activate(_ z: DenseMatrix, into a: DenseMatrix, rows: Int) {
        let count = rows * z.columns
        switch activation {
        case .relu:
            for index in 0..<count {
                a.values[index] = max(0, z.values[index])
            }
        case .silu:
            for index in 0..<count {
                let value = z.values[index]
                a.values[index] = value * sigmoid(value)
            }
        case .tanh:
            for index in 0..<count {
                a.values[index] = _tanhf(z.values[index])
            }
        }
    }

    private func multiplyByDerivative(_ gradient: DenseMatrix, preActivation z: DenseMatrix, activated a: DenseMatrix, rows: Int) {
        let count = rows * gradient.columns
        switch activation {
        case .relu:
            for index in 0..<count where z.values[index] <= 0 {
                gradient.values[index] = 0
            }
        case .silu:
            for index in 0..<count {
                let value = z.values[index]
                let s = sigmoid(value)
                gradient.values[index] *= s * (1 + value * (1 - s))
            }
        case .tanh:
            for index in 0..<count {
                let value = a.values[index]
                gradient.values[index] *= 1 - value * value
            }
        }
    }
}

/// Adam over dense tensors (the denoiser's weights), with a shared step count.
package final class DenseAdam {
    package let settings: AdamSettings
    private let firstMoments: [DenseMatrix]
    private let secondMoments: [DenseMatrix]
    package private(set) var step = 0

    package init(shapes: [DenseMatrix], settings: AdamSettings) {
        self.settings = settings
        firstMoments = shapes.map { DenseMatrix(rows: $0.rows, columns: $0.columns) }
        secondMoments = shapes.map { DenseMatrix(rows: $0.rows, columns: $0.columns) }
    }

    /// One step on `parameters` with `gradients` (same order and shapes).
    package func apply(_ gradients: [DenseMatrix], to parameters: [DenseMatrix]) {
        step += 1
        let correction1 = 1 - _pow(Double(settings.beta1), Double(step))
        let correction2 = 1 - _pow(Double(settings.beta2), Double(step))
        let stepSize = Float(Double(settings.learningRate) * correction2.squareRoot() / correction1)
        let epsilon = settings.epsilon * Float(correction2.squareRoot())
        for (index, parameter) in parameters.enumerated() {
            let g = gradients[index].values
            let m = firstMoments[index].values
            let v = secondMoments[index].values
            let w = parameter.values
            for element in 0..<parameter.count {
                let gradient = g[element]
                m[element] = settings.beta1 * m[element] + (1 - settings.beta1) * gradient
                v[element] = settings.beta2 * v[element] + (1 - settings.beta2) * gradient * gradient
                w[element] -= stepSize * m[element] / (v[element].squareRoot() + epsilon)
            }
        }
    }

    // MARK: State

    package func writeState(to writer: inout StateWriter) {
        writer.write(step)
        for tensor in firstMoments + secondMoments { writer.write(floats: tensor.values, count: tensor.count) }
    }

    package func readState(from reader: inout StateReader) throws {
        step = try reader.readCounter("the denoiser optimizer's step")
        for tensor in firstMoments + secondMoments {
            try reader.readFloats(into: tensor.values, expectedCount: tensor.count, "denoiser optimizer moments")
            try StateCheck.finite(tensor.values, count: tensor.count, "denoiser optimizer moments")
        }
        for tensor in secondMoments {
            for index in 0..<tensor.count where tensor.values[index] < 0 {
                throw StateReadError("the denoiser optimizer holds a negative second moment")
            }
        }
    }
}
