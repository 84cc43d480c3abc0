import CausalRecCore
import Foundation
import Testing

@Suite("Matrix factorisation, BPR and sparse Adam")
struct ModelTrainingTests {
    func makeModel(learningRate: Float = 0.05) -> MatrixFactorization {
        var configuration = ModelConfiguration()
        configuration.dimension = 16
        configuration.learningRate = learningRate
        configuration.l2 = 0
        let model = MatrixFactorization(configuration: configuration)
        model.growUsers(to: 4)
        model.growItems(to: 10)
        return model
    }

    @Test("BPR steps raise the positive above the negative and leave untouched rows alone")
    func bprLearnsAndIsSparse() {
        let model = makeModel()
        let trainer = BPRTrainer(model: model)
        let untouchedUser = model.users.values(of: 3)
        let untouchedItem = model.items.values(of: 9)
        let triplets = [TrainingTriplet(user: 0, positive: 1, negative: 2), TrainingTriplet(user: 1, positive: 3, negative: 4)]
        let before = model.score(user: 0, item: 1) - model.score(user: 0, item: 2)
        var losses: [Float] = []
        for _ in 0..<50 {
            losses.append(triplets.withUnsafeBufferPointer { trainer.train($0) })
        }
        let after = model.score(user: 0, item: 1) - model.score(user: 0, item: 2)
        #expect(after > before + 1)
        #expect(losses.last! < losses.first! * 0.5)
        #expect(model.users.values(of: 3) == untouchedUser)
        #expect(model.items.values(of: 9) == untouchedItem)
    }

    @Test("the first sparse-Adam step equals the textbook update")
    func adamMatchesReference() {
        let model = makeModel(learningRate: 0.1)
        let trainer = BPRTrainer(model: model)
        let user = model.users.values(of: 0)
        let positive = model.items.values(of: 1)
        let negative = model.items.values(of: 2)
        var x: Double = 0
        for d in 0..<16 { x += Double(user[d]) * Double(positive[d] - negative[d]) }
        let g = -1 / (1 + exp(x)) // d(−log σ(x))/dx
        _ = [TrainingTriplet(user: 0, positive: 1, negative: 2)].withUnsafeBufferPointer { trainer.train($0) }
        // Adam's first step moves each weight by −lr·sign(gradient) (up to ε).
        for d in 0..<16 {
            let gradient = g * Double(positive[d] - negative[d])
            let expected = Double(user[d]) - 0.1 * (gradient == 0 ? 0 : (gradient > 0 ? 1 : -1))
            #expect(abs(Double(model.users.row(0)[d]) - expected) < 1e-4)
        }
    }

    @Test("training is deterministic for a seed")
    func deterministic() {
        func run() -> [Float] {
            let recommender = OnlineRecommender(configuration: RecommenderConfiguration())
            var simulator = ClickSimulator(configuration: SimulatorConfiguration())
            for _ in 0..<5_000 { recommender.step(simulator.next(), fallbackTimestamp: 0) }
            return recommender.model.items.values(of: 3) + recommender.model.users.values(of: 2)
        }
        #expect(run() == run())
    }

    @Test("the uniform sampler never returns an item the user clicked")
    func uniformSamplerAvoidsPositives() {
        let model = makeModel()
        let history = InteractionHistory()
        history.growUsers(to: 4)
        history.growItems(to: 10)
        for item in Int32(0)..<9 { history.record(user: 0, item: item) }
        for item in Int32(0)..<10 { history.record(user: 1, item: item) }
        let exposure = ExposureEstimator(configuration: ExposureConfiguration())
        var sampler = UniformNegativeSampler()
        var random = Xoshiro256(seed: 1)
        let positives = [PositiveExample(user: 0, item: 3, timestamp: 0), PositiveExample(user: 1, item: 3, timestamp: 0)]
        var negatives = [Int32](repeating: 0, count: 2)
        for _ in 0..<100 {
            positives.withUnsafeBufferPointer { input in
                negatives.withUnsafeMutableBufferPointer { output in
                    sampler.sampleNegatives(for: input, into: output, synthetic: nil,
                                            context: SamplingContext(model: model, history: history, exposure: exposure),
                                            random: &random)
                }
            }
            #expect(negatives[0] == 9, "item 9 is the only one user 0 has not clicked")
            #expect(negatives[1] == -1, "user 1 clicked everything")
        }
    }
}
