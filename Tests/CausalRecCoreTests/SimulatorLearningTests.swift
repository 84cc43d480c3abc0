import CausalRecCore
import Testing

@Suite("Learning on the simulator")
struct SimulatorLearningTests {
    /// Streams `events` simulator events through a recommender (test-then-train).
    static func run(events: Int, configuration: RecommenderConfiguration, simulator simulatorConfiguration: SimulatorConfiguration)
        -> (OnlineRecommender, ClickSimulator)
    {
        var simulator = ClickSimulator(configuration: simulatorConfiguration)
        let recommender = OnlineRecommender(configuration: configuration)
        for _ in 0..<events {
            let event = simulator.next()
            recommender.step(event, fallbackTimestamp: 0)
        }
        return (recommender, simulator)
    }

    @Test("hit-rate@20 beats most-popular by 1.2x and the untrained model; exposure tracks the policy")
    func learnsPreferencesAndExposure() {
        let events = 120_000
        var configuration = RecommenderConfiguration()
        configuration.evaluateEveryNthClick = 3
        // Plain BPR: fitting the logged clicks is what this checks. The deconfounded default trades
        // some of that hit rate for the true preferences (ShiftEvaluationTests).
        configuration.deconfounding.trainingExponent = 0
        var simulatorConfiguration = SimulatorConfiguration()
        simulatorConfiguration.seed = 7
        let (trained, simulator) = Self.run(events: events, configuration: configuration, simulator: simulatorConfiguration)

        // The same stream with a learning rate of zero: the untrained (initial) model.
        var untrainedConfiguration = configuration
        untrainedConfiguration.model.learningRate = 0
        let (untrained, _) = Self.run(events: events, configuration: untrainedConfiguration, simulator: simulatorConfiguration)

        let lastFifth = trained.applied.total * 4 / 5
        let trainedWindow = trained.evaluator.summary(fromEvent: lastFifth)
        let untrainedWindow = untrained.evaluator.summary(fromEvent: lastFifth)
        print("hit-rate@20 last fifth: model \(trainedWindow.modelHitRate) most-popular \(trainedWindow.popularHitRate) untrained \(untrainedWindow.modelHitRate) over \(trainedWindow.evaluated) clicks")
        #expect(trainedWindow.evaluated > 1_000)
        #expect(trainedWindow.modelHitRate >= 1.2 * trainedWindow.popularHitRate)
        #expect(trainedWindow.modelHitRate > untrainedWindow.modelHitRate)

        // Exposure estimates against the simulator's true exposure policy.
        var estimates: [Double] = []
        var truth: [Double] = []
        for item in 0..<simulatorConfiguration.items {
            guard let row = trained.items.row(for: ClickSimulator.itemID(item)) else { continue }
            estimates.append(trained.exposure.propensity(of: row))
            truth.append(simulator.exposureProbability(item: item))
        }
        let correlation = Statistics.spearman(estimates, truth)
        print("exposure estimate vs true policy: Spearman \(correlation) over \(estimates.count) items")
        #expect(correlation > 0.9)
    }
}
