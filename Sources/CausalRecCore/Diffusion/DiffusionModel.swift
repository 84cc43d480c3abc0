/// A positive kept for training the denoiser: who, what, and the item's exposure environment
/// when it was clicked.
package struct BufferedPositive: Sendable, Equatable {
    package var user: Int32
    package var item: Int32
    package var environment: Int32
}

/// An immutable, versioned copy of the denoiser and what generation needs with it. Samplers read
/// only snapshots, so training can continue (and a later refresh can swap in a new snapshot)
/// without ever changing a batch that is being generated.
package final class DenoiserSnapshot: @unchecked Sendable {
    package let version: Int
    package let parameters: DenoiserParameters
    package let schedule: NoiseSchedule
    package let configuration: CNSDiffConfiguration
    /// RMS of item (and user) embedding values when published: the diffusion runs on unit-scale
    /// vectors, whatever scale the embeddings have drifted to.
    package let itemScale: Float
    package let userScale: Float
    /// P(E) over the buffered positives, for the intervention.
    package let environmentDistribution: [Double]
    /// Share of the curriculum done (0…1) when published.
    package let curriculumProgress: Double

    init(version: Int, parameters: DenoiserParameters, schedule: NoiseSchedule, configuration: CNSDiffConfiguration,
         itemScale: Float, userScale: Float, environmentDistribution: [Double], curriculumProgress: Double)
    {
        self.version = version
        self.parameters = parameters
        self.schedule = schedule
        self.configuration = configuration
        self.itemScale = itemScale
        self.userScale = userScale
        self.environmentDistribution = environmentDistribution
        self.curriculumProgress = curriculumProgress
    }

    /// The (α, β) of the mixing weight λ at this point of the curriculum.
    package var mixingShape: (alpha: Double, beta: Double) {
        let progress = configuration.curriculum ? curriculumProgress : 1
        return (configuration.initialAlpha + (configuration.finalAlpha - configuration.initialAlpha) * progress,
                configuration.initialBeta + (configuration.finalBeta - configuration.initialBeta) * progress)
    }
}

/// The conditional latent diffusion model of CNSDiff and its continuous training: a training
/// buffer of recent positives, mini-batch denoising steps with Adam (with the invariance penalty
/// and, optionally, the released code's KL term), and versioned snapshots for the sampler.
package final class DiffusionModel {
    package let configuration: CNSDiffConfiguration
    package let schedule: NoiseSchedule
    package let layout: DenoiserLayout
    let parameters: DenoiserParameters
    private let gradients: DenoiserParameters
    private let adam: DenseAdam
    private let network: DenoiserNetwork
    private let outputGradient: DenseMatrix
    private var trainingBuffer: RingBuffer<BufferedPositive>
    private var environmentCounts: [Double]
    package private(set) var trainedPositives = 0
    package private(set) var snapshot: DenoiserSnapshot
    private var sincePublish = 0
    /// Mean denoising loss of the last training step, and its per-environment spread.
    package private(set) var lastLoss: Double = 0
    package private(set) var lastInvariancePenalty: Double = 0

    package init(configuration: CNSDiffConfiguration, dimension: Int, environments: Int) {
        self.configuration = configuration
        schedule = NoiseSchedule(kind: configuration.schedule, steps: configuration.steps)
        layout = DenoiserLayout(configuration: configuration, dimension: dimension, environments: environments)
        parameters = DenoiserParameters(layout: layout, initializeWith: configuration.seed)
        gradients = DenoiserParameters(layout: layout, initializeWith: nil)
        adam = DenseAdam(shapes: parameters.tensors, settings: AdamSettings(learningRate: configuration.learningRate))
        network = DenoiserNetwork(layout: layout, activation: configuration.activation, steps: configuration.steps,
                                  capacity: configuration.trainBatch)
        outputGradient = DenseMatrix(rows: configuration.trainBatch, columns: dimension)
        environmentCounts = [Double](repeating: 0, count: max(1, environments))
        trainingBuffer = RingBuffer(capacity: configuration.bufferCapacity)
        snapshot = DenoiserSnapshot(version: 0, parameters: parameters.copy(), schedule: schedule, configuration: configuration,
                                    itemScale: 1, userScale: 1,
                                    environmentDistribution: [Double](repeating: 1 / Double(max(1, environments)), count: max(1, environments)),
                                    curriculumProgress: 0)
    }

    package var version: Int { snapshot.version }
    package var bufferedCount: Int { trainingBuffer.count }

    /// Drops buffered positives of forgotten users or evicted items (their rows will hold others).
    package func forget(users: Set<Int32>, items: Set<Int32>) {
        let gone = { (entry: BufferedPositive) in users.contains(entry.user) || items.contains(entry.item) }
        guard trainingBuffer.storage.contains(where: gone) else { return }
        trainingBuffer.removeAll(where: gone)
        for index in environmentCounts.indices { environmentCounts[index] = 0 }
        for entry in trainingBuffer.storage { environmentCounts[Int(entry.environment)] += 1 }
    }

    /// Adds a batch of positives to the trainingBuffer buffer; every `trainEvery` positives trains the
    /// denoiser and publishes a snapshot. Refresh points are counted in positives, which keeps a
    /// run deterministic for a seed.
    package func observe(_ positives: UnsafeBufferPointer<PositiveExample>, model: MatrixFactorization, exposure: ExposureEstimator,
                        random: inout Xoshiro256)
    {
        for positive in positives {
            let environment = Int32(exposure.environment(of: positive.item))
            let entry = BufferedPositive(user: positive.user, item: positive.item, environment: environment)
            if let replaced = trainingBuffer.append(entry) { environmentCounts[Int(replaced.environment)] -= 1 }
            environmentCounts[Int(environment)] += 1
        }
        trainedPositives += positives.count
        sincePublish += positives.count
        if sincePublish >= configuration.trainEvery || snapshot.version == 0 {
            sincePublish = 0
            let itemScale = Self.rootMeanSquare(model.items, rows: model.itemCount)
            let userScale = Self.rootMeanSquare(model.users, rows: model.userCount)
            for _ in 0..<configuration.trainSteps {
                trainStep(model: model, itemScale: itemScale, userScale: userScale, random: &random)
            }
            publish(itemScale: itemScale, userScale: userScale)
        }
    }

    /// Makes the current weights the sampler's snapshot (version + 1).
    func publish(itemScale: Float, userScale: Float) {
        let total = environmentCounts.reduce(0, +)
        let distribution = total > 0 ? environmentCounts.map { $0 / total }
            : [Double](repeating: 1 / Double(environmentCounts.count), count: environmentCounts.count)
        let progress = min(1, Double(trainedPositives) / Double(max(1, configuration.curriculumPositives)))
        snapshot = DenoiserSnapshot(version: snapshot.version + 1, parameters: parameters.copy(), schedule: schedule,
                                    configuration: configuration,
                                    itemScale: itemScale, userScale: userScale,
                                    environmentDistribution: distribution, curriculumProgress: progress)
    }

    static func rootMeanSquare(_ table: EmbeddingTable, rows: Int) -> Float {
        guard rows > 0 else { return 1 }
        var sum = 0.0
        // A strided sample keeps this cheap on large tables.
        let step = max(1, rows / 4_096)
        var counted = 0
        var row = 0
        while row < rows {
            let values = table.row(Int32(row))
            for column in 0..<table.dimension { sum += Double(values[column] * values[column]) }
            counted += table.dimension
            row += step
        }
        let rms = (sum / Double(max(counted, 1))).squareRoot()
        return rms > 1e-12 ? Float(rms) : 1
    }

    /// One denoising step on a random mini-batch from the trainingBuffer buffer.
    func trainStep(model: MatrixFactorization, itemScale: Float, userScale: Float, random: inout Xoshiro256) {
        guard !trainingBuffer.isEmpty else { return }
        let batch = min(configuration.trainBatch, trainingBuffer.count)
        let dimension = layout.dimension
        var targets = [Float](repeating: 0, count: batch * dimension)
        var previous = [Float](repeating: 0, count: configuration.klWeight > 0 ? batch * dimension : 0)
        var steps = [Int](repeating: 0, count: batch)
        var environments = [Int](repeating: 0, count: batch)
        var noisy = [Float](repeating: 0, count: dimension)
        var user = [Float](repeating: 0, count: dimension)
        var noise = [Float](repeating: 0, count: dimension)
        for row in 0..<batch {
            let entry = trainingBuffer[slot: random.nextIndex(below: trainingBuffer.count)]
            let t = random.nextIndex(below: schedule.steps)
            steps[row] = t
            environments[row] = Int(entry.environment)
            let alphaBar = schedule.alphaBar(t)
            let signal = Float(alphaBar.squareRoot())
            let noiseScale = Float((1 - alphaBar).squareRoot())
            let previousAlphaBar = schedule.alphaBar(t - 1)
            let item = model.items.row(entry.item)
            let userRow = model.users.row(entry.user)
            noise.withUnsafeMutableBufferPointer { random.fillGaussian($0.baseAddress!, count: dimension) }
            for column in 0..<dimension {
                let x0 = item[column] / itemScale
                let epsilon = noise[column]
                noisy[column] = signal * x0 + noiseScale * epsilon
                targets[row * dimension + column] = configuration.prediction == .x0 ? x0 : epsilon
                if configuration.klWeight > 0 {
                    previous[row * dimension + column] = Float(previousAlphaBar.squareRoot()) * x0
                        + Float((1 - previousAlphaBar).squareRoot()) * epsilon
                }
                user[column] = userRow[column] / userScale
            }
            noisy.withUnsafeBufferPointer { x in
                user.withUnsafeBufferPointer { u in
                    network.setInput(row: row, noisy: x.baseAddress!, user: u.baseAddress!, environment: environments[row],
                                     step: t, parameters: parameters)
                }
            }
        }
        network.forward(parameters, rows: batch)

        // Per-sample losses, then the V-REx weights: d(mean + w·Var_e(L_e))/dℓ_i
        //   = 1/B + w·(2/|E|)·(L_e(i) − mean_e L_e)/n_e(i).
        var losses = [Double](repeating: 0, count: batch)
        for row in 0..<batch {
            var sum = 0.0
            let output = network.output.row(row)
            for column in 0..<dimension {
                let difference = Double(output[column] - targets[row * dimension + column])
                sum += difference * difference
            }
            losses[row] = sum / Double(dimension)
        }
        var environmentLoss = [Double](repeating: 0, count: environmentCounts.count)
        var environmentRows = [Double](repeating: 0, count: environmentCounts.count)
        for row in 0..<batch {
            environmentLoss[environments[row]] += losses[row]
            environmentRows[environments[row]] += 1
        }
        let present = (0..<environmentLoss.count).filter { environmentRows[$0] > 0 }
        for environment in present { environmentLoss[environment] /= environmentRows[environment] }
        let meanOfEnvironments = present.isEmpty ? 0 : present.reduce(0.0) { $0 + environmentLoss[$1] } / Double(present.count)
        var penalty = 0.0
        for environment in present {
            let deviation = environmentLoss[environment] - meanOfEnvironments
            penalty += deviation * deviation / Double(present.count)
        }
        lastLoss = losses.reduce(0, +) / Double(batch)
        lastInvariancePenalty = penalty

        let weight = configuration.invarianceWeight
        for row in 0..<batch {
            var sampleWeight = 1 / Double(batch)
            if weight > 0 && present.count > 1 {
                let environment = environments[row]
                sampleWeight += weight * 2 / Double(present.count)
                    * (environmentLoss[environment] - meanOfEnvironments) / environmentRows[environment]
            }
            let output = network.output.row(row)
            let gradient = outputGradient.row(row)
            let scale = Float(sampleWeight * 2 / Double(dimension))
            // The KL term compares the x₀ prediction with x_{t−1} under fixed variances:
            // ∂KL/∂x̂₀ = (x̂₀ − x_{t−1}) / σ²_{t−1} per dimension, averaged over dimensions.
            let klScale: Float = configuration.klWeight > 0 && configuration.prediction == .x0
                ? Float(configuration.klWeight / Double(batch) / Double(dimension)
                        / max(1e-8, _exp(steps[row] == 0 ? 0 : schedule.posteriorLogVariance(steps[row] - 1))))
                : 0
            for column in 0..<dimension {
                var value = scale * (output[column] - targets[row * dimension + column])
                if klScale > 0 { value += klScale * (output[column] - previous[row * dimension + column]) }
                gradient[column] = value
            }
        }
        gradients.zero()
        network.backward(parameters, outputGradient: outputGradient, rows: batch, into: gradients)
        adam.apply(gradients.tensors, to: parameters.tensors)
    }

    // MARK: State

    package func writeState(to writer: inout StateWriter) {
        writer.beginSection("DIFF")
        parameters.writeState(to: &writer)
        adam.writeState(to: &writer)
        writer.write(trainingBuffer.count)
        for entry in trainingBuffer.storage {
            writer.write(entry.user)
            writer.write(entry.item)
            writer.write(entry.environment)
        }
        writer.write(trainingBuffer.next)
        writer.write(environmentCounts)
        writer.write(trainedPositives)
        writer.write(sincePublish)
        writer.write(lastLoss)
        writer.write(lastInvariancePenalty)
        writer.write(snapshot.version)
        snapshot.parameters.writeState(to: &writer)
        writer.write(snapshot.itemScale)
        writer.write(snapshot.userScale)
        writer.write(snapshot.environmentDistribution)
        writer.write(snapshot.curriculumProgress)
        writer.endSection()
    }

    package func readState(from reader: inout StateReader) throws {
        try reader.beginSection("DIFF")
        try parameters.readState(from: &reader, "denoiser")
        try adam.readState(from: &reader)
        let count = try reader.readCount(elementSize: 12, "the denoiser's trainingBuffer buffer")
        var entries: [BufferedPositive] = []
        entries.reserveCapacity(count)
        var counts = [Double](repeating: 0, count: environmentCounts.count)
        for _ in 0..<count {
            let entry = BufferedPositive(user: try reader.readInt32(), item: try reader.readInt32(), environment: try reader.readInt32())
            guard entry.environment >= 0, Int(entry.environment) < environmentCounts.count else {
                throw StateReadError("the denoiser's trainingBuffer buffer names environment \(entry.environment)")
            }
            counts[Int(entry.environment)] += 1
            entries.append(entry)
        }
        guard let ring = RingBuffer(restoring: entries, next: try reader.readInt(), capacity: configuration.bufferCapacity) else {
            throw StateReadError("the denoiser's trainingBuffer position does not fit its \(entries.count) entries")
        }
        let storedCounts = try reader.readDoubleArray()
        try reader.expect(storedCounts.count, equals: environmentCounts.count, "the number of exposure environments")
        try StateCheck.require(storedCounts == counts, "the denoiser's environment counts disagree with its trainingBuffer buffer")
        let trained = try reader.readCounter("positives the denoiser trained on")
        let since = try reader.readCounter("positives since the last denoiser snapshot")
        let loss = try reader.readDouble()
        let penalty = try reader.readDouble()
        let version = try reader.readCounter("the denoiser version")
        let published = DenoiserParameters(layout: layout, initializeWith: nil)
        try published.readState(from: &reader, "denoiser snapshot")
        let itemScale = try reader.readFiniteFloat("the snapshot's item scale")
        let userScale = try reader.readFiniteFloat("the snapshot's user scale")
        let distribution = try reader.readDoubleArray()
        let progress = try reader.readFiniteDouble("the snapshot's curriculum progress")
        try reader.endSection()
        try StateCheck.require(itemScale > 0 && userScale > 0, "the snapshot's scales (\(itemScale), \(userScale)) must be positive")
        try StateCheck.require((0...1).contains(progress), "the snapshot's curriculum progress \(progress) is outside 0…1")
        try StateCheck.finite(distribution, nonNegative: true, "the snapshot's environment distribution")
        try StateCheck.require(distribution.count == environmentCounts.count && abs(distribution.reduce(0, +) - 1) < 1e-6,
                               "the snapshot's environment distribution is not a distribution over \(environmentCounts.count) environments")
        if ring.count != entries.count {
            // The capacity shrank between runs: the counts follow the entries kept.
            counts = [Double](repeating: 0, count: environmentCounts.count)
            for entry in ring.storage { counts[Int(entry.environment)] += 1 }
        }
        trainingBuffer = ring
        environmentCounts = counts
        trainedPositives = trained
        sincePublish = since
        lastLoss = loss
        lastInvariancePenalty = penalty
        snapshot = DenoiserSnapshot(version: version, parameters: published, schedule: schedule, configuration: configuration,
                                    itemScale: itemScale, userScale: userScale, environmentDistribution: distribution,
                                    curriculumProgress: progress)
    }

    /// The trainingBuffer buffer names only rows the restored state has in use.
    func validateRestored(_ context: RestoredStateContext) throws {
        for entry in trainingBuffer.storage {
            guard entry.user >= 0, Int(entry.user) < context.userCount, entry.item >= 0, Int(entry.item) < context.itemCount else {
                throw StateReadError("the denoiser's trainingBuffer buffer names a row that does not exist")
            }
        }
        try StateCheck.disjoint(trainingBuffer.storage.map(\.item), from: context.freeItems, "the denoiser's trainingBuffer buffer")
        try StateCheck.disjoint(trainingBuffer.storage.map(\.user), from: context.freeUsers, "the denoiser's trainingBuffer buffer")
    }
}
