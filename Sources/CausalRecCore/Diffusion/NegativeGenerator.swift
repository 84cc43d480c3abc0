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
    func generate(_ positives: UnsafeBufferPointer<PositiveExample>, model: MatrixFactorization, exposure: ExposureEstimator,
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
                : exposure.environment(of: positive.item)
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
                let item = model.items.row(positive.item)
                let userRow = model.users.row(positive.user)
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
