@testable import CausalRecCore
import Testing

@Suite("Latent diffusion: schedules and the denoiser's gradients")
struct DenoiserTests {
    @Test("schedules: cosine reaches real noise; the reference's linear-variance stays below std 0.045")
    func schedules() {
        let cosine = NoiseSchedule(kind: .cosine, steps: 50)
        #expect(cosine.noiseStandardDeviation(49) > 0.99)
        #expect(cosine.noiseStandardDeviation(0) < 0.1)
        #expect(zip(cosine.alphaBars, cosine.alphaBars.dropFirst()).allSatisfy { $0 > $1 })
        let reference = NoiseSchedule(kind: .linearVariance(scale: 0.1, min: 1e-4, max: 0.02), steps: 20)
        #expect(abs(reference.noiseStandardDeviation(19) - 0.002.squareRoot()) < 1e-9)
        let linear = NoiseSchedule(kind: .linear(start: 1e-4, end: 0.02), steps: 1_000)
        #expect(linear.noiseStandardDeviation(999) > 0.99)
        // The posterior mean interpolates: at t = 0 it is x₀ exactly.
        let first = cosine.posterior(0)
        #expect(abs(first.coefficientX0 - 1) < 1e-9 && abs(first.coefficientXt) < 1e-9)
    }

    @Test("backward matches finite differences", arguments: [DenoiserActivation.silu, .tanh])
    func gradientCheck(activation: DenoiserActivation) {
        let layout = DenoiserLayout(dimension: 4, hidden: 5, environments: 3, environmentDimension: 2, timeDimension: 4,
                                    conditionOnUser: true, conditionOnEnvironment: true)
        let parameters = DenoiserParameters(layout: layout, initializeWith: 3)
        let network = DenoiserNetwork(layout: layout, activation: activation, steps: 10, capacity: 6)
        var random = Xoshiro256(seed: 5)
        let rows = 6
        let noisy = (0..<rows * 4).map { _ in Float(random.nextGaussian()) }
        let users = (0..<rows * 4).map { _ in Float(random.nextGaussian()) }
        let environments = (0..<rows).map { _ in random.nextIndex(below: 3) }
        let steps = (0..<rows).map { _ in random.nextIndex(below: 10) }
        let weights = (0..<rows * 4).map { _ in Float(random.nextGaussian()) }

        func loss() -> Double {
            noisy.withUnsafeBufferPointer { x in
                users.withUnsafeBufferPointer { u in
                    for row in 0..<rows {
                        network.setInput(row: row, noisy: x.baseAddress! + row * 4, user: u.baseAddress! + row * 4,
                                         environment: environments[row], step: steps[row], parameters: parameters)
                    }
                }
            }
            network.forward(parameters, rows: rows)
            var total = 0.0
            for index in 0..<rows * 4 { total += Double(network.output.values[index] * weights[index]) }
            return total
        }

        _ = loss()
        let outputGradient = DenseMatrix(rows: rows, columns: 4)
        for index in 0..<rows * 4 { outputGradient.values[index] = weights[index] }
        let gradients = DenoiserParameters(layout: layout, initializeWith: nil)
        network.backward(parameters, outputGradient: outputGradient, rows: rows, into: gradients)

        var worst = 0.0
        for (tensor, gradient) in zip(parameters.tensors, gradients.tensors) {
            for element in stride(from: 0, to: tensor.count, by: max(1, tensor.count / 7)) {
                let original = tensor.values[element]
                let h: Float = 1e-2
                tensor.values[element] = original + h
                let plus = loss()
                tensor.values[element] = original - h
                let minus = loss()
                tensor.values[element] = original
                let numeric = (plus - minus) / Double(2 * h)
                let analytic = Double(gradient.values[element])
                let error = abs(numeric - analytic) / max(1e-2, abs(numeric) + abs(analytic))
                worst = max(worst, error)
            }
        }
        #expect(worst < 2e-2, "worst relative error \(worst)")
    }
}

@Suite("The reference's contrastive term")
struct ContrastiveTermTests {
    @Test("item gradients match finite differences of the loss")
    func gradientCheck() {
        var configuration = ModelConfiguration()
        configuration.dimension = 8
        configuration.initialStandardDeviation = 0.5
        let model = MatrixFactorization(configuration: configuration)
        model.growUsers(to: 4)
        model.growItems(to: 10)
        let triplets = [TrainingTriplet(user: 0, positive: 1, negative: 2, mix: 0.5),
                        TrainingTriplet(user: 1, positive: 3, negative: 4, mix: 0.3),
                        TrainingTriplet(user: 2, positive: 1, negative: 5, mix: 0.7)]
        var random = Xoshiro256(seed: 1)
        let synthetic = (0..<3 * model.stride).map { _ in Float(random.nextGaussian()) }
        let term = ContrastiveTerm(weight: 0.3, temperature: 2, positiveNoise: 0.01, seed: 9)
        func loss() -> Double {
            triplets.withUnsafeBufferPointer { t in
                synthetic.withUnsafeBufferPointer { Double(term.gradients(triplets: t, synthetic: $0.baseAddress!, model: model).loss) }
            }
        }
        let result = triplets.withUnsafeBufferPointer { t in
            synthetic.withUnsafeBufferPointer { term.gradients(triplets: t, synthetic: $0.baseAddress!, model: model) }
        }
        var worst = 0.0
        for item in [Int32(1), 2, 3, 5] {
            for column in [0, 3, 7] {
                var analytic = 0.0
                for contribution in result.contributions where contribution.item == item {
                    analytic += Double(result.rows[Int(contribution.index), column])
                }
                let original = model.items.row(item)[column]
                let h: Float = 1e-2
                model.items.row(item)[column] = original + h
                let plus = loss()
                model.items.row(item)[column] = original - h
                let minus = loss()
                model.items.row(item)[column] = original
                let numeric = (plus - minus) / Double(2 * h)
                worst = max(worst, abs(numeric - analytic) / max(1e-3, abs(numeric) + abs(analytic)))
            }
        }
        #expect(worst < 3e-2, "worst relative error \(worst)")
    }
}
