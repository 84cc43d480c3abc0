import CausalRecCore
import Testing

@Suite("Training never leaves a non-finite model behind")
struct FiniteTrainingTests {
    static func stream(_ recommender: OnlineRecommender, events: Int) {
        var simulator = ClickSimulator(configuration: SimulatorConfiguration())
        for _ in 0..<events { recommender.step(simulator.next(), fallbackTimestamp: 0) }
        recommender.flushTraining()
    }

    @Test("plain SGD at learning rates far past the accepted range: every row stays finite, and the state restores",
          arguments: [Float(1), 10, 1_000])
    func sgdAtHugeRates(rate: Float) throws {
        var configuration = RecommenderConfiguration()
        configuration.model.optimizer = .sgd
        configuration.model.learningRate = rate
        configuration.trainingBatchSize = 64
        let recommender = OnlineRecommender(configuration: configuration)
        Self.stream(recommender, events: 30_000)
        #expect(recommender.modelVersion + Int64(recommender.training.refusedSteps) >= 100, "fewer than 100 batches ran")
        try recommender.model.checkFinite()
        let answer = recommender.recommend(user: "u1", k: 20, at: recommender.latestTimestamp)
        #expect(answer.items.allSatisfy { $0.score.isFinite })
        let restored = OnlineRecommender(configuration: configuration)
        var reader = StateReader(StateRestoreTests.state(of: recommender))
        try restored.readState(from: &reader)
    }

    @Test("an exposure exponent whose weights overflow: the step is refused whole, counted, and the model is unchanged")
    func overflowingWeightsAreRefused() throws {
        var configuration = RecommenderConfiguration()
        configuration.deconfounding.trainingExponent = 60
        configuration.trainingBatchSize = 64
        let recommender = OnlineRecommender(configuration: configuration)
        Self.stream(recommender, events: 20_000)
        try recommender.model.checkFinite()
        #expect(recommender.training.refusedSteps > 0, "no step overflowed: the test does not test anything")
        let restored = OnlineRecommender(configuration: configuration)
        var reader = StateReader(StateRestoreTests.state(of: recommender))
        try restored.readState(from: &reader)
    }
}
