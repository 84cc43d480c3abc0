/// `cnsdiff`: causal negative sampling via a conditional latent diffusion model (DESIGN.md §4).
///
/// Per positive (u, i): noise q_i to several levels, denoise each back with the snapshot of the
/// denoiser conditioned on the user and on an exposure environment — drawn from P(E) when
/// intervening (backdoor adjustment), else i's own — and pick one candidate by the hardness rule.
/// The negative the model trains on is z = λ·g + (1 − λ)·q_j with a uniform real negative j and
/// λ ~ Beta(α, β), whose mean rises over the curriculum. All of it runs as batched matrix
/// products over the chunk's positives.
public struct CNSDiffSampler: GenerativeNegativeSampler {
    public let model: DiffusionModel
    public let name: String
    public let maxAttempts: Int

    public init(model: DiffusionModel, name: String = "cnsdiff", maxAttempts: Int = 64) {
        self.model = model
        self.name = name
        self.maxAttempts = maxAttempts
    }

    public var generatorVersion: Int { model.version }

    public mutating func learn(from positives: UnsafeBufferPointer<PositiveExample>, context: SamplingContext,
                               random: inout Xoshiro256)
    {
        model.observe(positives, context: context, random: &random)
    }

    /// Without a synthetic buffer (a caller that only wants real items) this is uniform sampling.
    public mutating func sampleNegatives(for positives: UnsafeBufferPointer<PositiveExample>,
                                         into negatives: UnsafeMutableBufferPointer<Int32>,
                                         context: SamplingContext, random: inout Xoshiro256)
    {
        for index in 0..<positives.count {
            negatives[index] = context.uniformNegative(user: positives[index].user, positive: positives[index].item,
                                                       attempts: maxAttempts, random: &random)
        }
    }

    public mutating func sampleNegatives(for positives: UnsafeBufferPointer<PositiveExample>,
                                         into negatives: UnsafeMutableBufferPointer<Int32>,
                                         synthetic: SyntheticNegatives,
                                         context: SamplingContext, random: inout Xoshiro256)
    {
        let snapshot = model.snapshot
        let count = positives.count
        guard count > 0 else { return }
        let generator = NegativeGenerator(snapshot: snapshot, layout: model.layout, rows: count)
        let candidates = generator.generate(positives, context: context, random: &random)
        let stride = context.model.stride
        let dimension = context.model.dimension
        let levels = snapshot.configuration.levels.count
        let shape = snapshot.mixingShape
        for index in 0..<count {
            let positive = positives[index]
            negatives[index] = context.uniformNegative(user: positive.user, positive: positive.item,
                                                       attempts: maxAttempts, random: &random)
            let user = context.model.users.row(positive.user)
            let positiveScore = VectorKernels.dot(user, context.model.items.row(positive.item), length: stride)
            var chosen = 0
            var chosenScore = -Float.infinity
            var lowest = 0
            var lowestScore = Float.infinity
            for level in 0..<levels {
                let vector = candidates.row(level * count + index)
                var score: Float = 0
                for column in 0..<dimension { score += user[column] * vector[column] }
                if score < lowestScore {
                    lowestScore = score
                    lowest = level
                }
                switch snapshot.configuration.hardness {
                case .argmax:
                    if score > chosenScore {
                        chosenScore = score
                        chosen = level
                    }
                case .hardestBelowPositive:
                    if score < positiveScore && score > chosenScore {
                        chosenScore = score
                        chosen = level
                    }
                }
            }
            if snapshot.configuration.hardness == .hardestBelowPositive && chosenScore == -Float.infinity { chosen = lowest }
            let target = synthetic.vectors + index * synthetic.stride
            target.update(from: candidates.row(chosen * count + index), count: dimension)
            (target + dimension).update(repeating: 0, count: synthetic.stride - dimension)
            synthetic.mix[index] = negatives[index] >= 0 ? Float(random.nextBeta(alpha: shape.alpha, beta: shape.beta)) : 0
        }
    }

    // MARK: State

    public mutating func forget(users: Set<Int32>, items: Set<Int32>) {
        model.forget(users: users, items: items)
    }

    public func writeState(to writer: inout StateWriter) {
        model.writeState(to: &writer)
    }

    public mutating func readState(from reader: inout StateReader) throws {
        try model.readState(from: &reader)
    }

    public func validateRestored(_ context: RestoredStateContext) throws {
        try model.validateRestored(context)
    }
}

/// Runs the reverse chains of one batch: for every level, all positives at once.
struct NegativeGenerator {
    let snapshot: DenoiserSnapshot
    let layout: DenoiserLayout
    let rows: Int
    let network: DenoiserNetwork

    init(snapshot: DenoiserSnapshot, layout: DenoiserLayout, rows: Int) {
        self.snapshot = snapshot
        self.layout = layout
        self.rows = rows
        network = DenoiserNetwork(layout: layout, activation: snapshot.configuration.activation,
                                  steps: snapshot.configuration.steps, capacity: max(rows, 1))
    }

    /// The step indices a chain visits from `level` down to 0.
    static func chain(from level: Int, configuration: CNSDiffConfiguration) -> [Int] {
        if configuration.fullReverseChain { return Array((0..<configuration.steps).reversed()) }
        if configuration.reverseSteps <= 0 || configuration.reverseSteps > level { return Array((0...level).reversed()) }
        let n = configuration.reverseSteps
        return (0..<n).map { level * (n - $0) / n }
    }

    /// Returns a (levels·rows) × dimension matrix of candidates in embedding scale; row
    /// level·rows + i belongs to positive i.
    func generate(_ positives: UnsafeBufferPointer<PositiveExample>, context: SamplingContext,
                  random: inout Xoshiro256) -> DenseMatrix
    {
        let configuration = snapshot.configuration
        let schedule = snapshot.schedule
        let dimension = layout.dimension
        let parameters = snapshot.parameters
        let levels = configuration.levels
        let result = DenseMatrix(rows: levels.count * rows, columns: dimension)
        var user = [Float](repeating: 0, count: dimension)
        var noisy = [Float](repeating: 0, count: dimension)
        var noise = [Float](repeating: 0, count: dimension)
        let environments = positives.map { positive -> Int in
            configuration.intervention ? Self.draw(snapshot.environmentDistribution, &random)
                : context.exposure.environment(of: positive.item)
        }
        let ddpm = configuration.fullReverseChain || configuration.reverseSteps <= 0
        for (levelIndex, level) in levels.enumerated() {
            let start = min(max(level, 0), schedule.steps - 1)
            let alphaBar = schedule.alphaBar(start)
            let signal = Float(alphaBar.squareRoot()) / snapshot.itemScale
            let noiseScale = Float((1 - alphaBar).squareRoot())
            let userScale = 1 / snapshot.userScale
            for row in 0..<rows {
                let positive = positives[row]
                let item = context.model.items.row(positive.item)
                let userRow = context.model.users.row(positive.user)
                noise.withUnsafeMutableBufferPointer { random.fillGaussian($0.baseAddress!, count: dimension) }
                for column in 0..<dimension {
                    noisy[column] = signal * item[column] + noiseScale * noise[column]
                    user[column] = userRow[column] * userScale
                }
                noisy.withUnsafeBufferPointer { x in
                    user.withUnsafeBufferPointer { u in
                        network.setInput(row: row, noisy: x.baseAddress!, user: u.baseAddress!, environment: environments[row],
                                         step: start, parameters: parameters)
                    }
                }
            }
            let chain = Self.chain(from: start, configuration: configuration)
            for (position, t) in chain.enumerated() {
                if position > 0 {
                    for row in 0..<rows { network.setStep(row: row, step: t) }
                }
                network.forward(parameters, rows: rows)
                let next = position + 1 < chain.count ? chain[position + 1] : -1
                let alphaBarT = schedule.alphaBar(t)
                let posterior = schedule.posterior(t)
                for row in 0..<rows {
                    let x = network.noisyInput(row: row)
                    let output = network.output.row(row)
                    for column in 0..<dimension {
                        let xt = x[column]
                        var x0: Float
                        switch configuration.prediction {
                        case .x0:
                            x0 = output[column]
                        case .epsilon:
                            x0 = (xt - Float((1 - alphaBarT).squareRoot()) * output[column]) / Float(max(alphaBarT, 1e-8).squareRoot())
                        }
                        x0 = min(max(x0, -10), 10)
                        if next < 0 {
                            x[column] = x0
                        } else if ddpm {
                            x[column] = Float(posterior.coefficientX0) * x0 + Float(posterior.coefficientXt) * xt
                        } else {
                            // DDIM (η = 0): keep the implied noise direction, move to the next level.
                            let epsilon = (xt - Float(alphaBarT.squareRoot()) * x0) / Float(max(1 - alphaBarT, 1e-8).squareRoot())
                            let alphaBarNext = schedule.alphaBar(next)
                            x[column] = Float(alphaBarNext.squareRoot()) * x0 + Float((1 - alphaBarNext).squareRoot()) * epsilon
                        }
                    }
                }
            }
            for row in 0..<rows {
                let x = network.noisyInput(row: row)
                let target = result.row(levelIndex * rows + row)
                for column in 0..<dimension { target[column] = x[column] * snapshot.itemScale }
            }
        }
        return result
    }

    static func draw(_ distribution: [Double], _ random: inout Xoshiro256) -> Int {
        var u = random.nextUnitDouble()
        for (index, probability) in distribution.enumerated() {
            u -= probability
            if u < 0 { return index }
        }
        return distribution.count - 1
    }
}
