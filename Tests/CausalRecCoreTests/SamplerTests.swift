import CausalRecCore
import Testing

@Suite("Negative samplers")
struct SamplerTests {
    /// A small world: 1 user, 20 items with exposure ∝ item number, the user clicked items 0 and 1.
    func world(tracksImpressions: Bool = false) -> (MatrixFactorization, InteractionHistory, ExposureEstimator) {
        var configuration = ModelConfiguration()
        configuration.dimension = 8
        let model = MatrixFactorization(configuration: configuration)
        model.growUsers(to: 1)
        model.growItems(to: 20)
        let history = InteractionHistory(tracksImpressions: tracksImpressions)
        history.growUsers(to: 1)
        history.growItems(to: 20)
        history.record(user: 0, item: 0)
        history.record(user: 0, item: 1)
        var exposureConfiguration = ExposureConfiguration()
        exposureConfiguration.halfLifeMilliseconds = 1e15
        let exposure = ExposureEstimator(configuration: exposureConfiguration)
        exposure.grow(to: 20)
        for item in Int32(0)..<20 {
            for _ in 0..<Int(item) { exposure.record(item: item, at: 1_700_000_000_000) }
        }
        return (model, history, exposure)
    }

    func draw(_ sampler: inout some NegativeSampler, _ context: SamplingContext, count: Int, seed: UInt64 = 1) -> [Int32] {
        var random = Xoshiro256(seed: seed)
        let positives = [PositiveExample](repeating: PositiveExample(user: 0, item: 0, timestamp: 0), count: count)
        var negatives = [Int32](repeating: 0, count: count)
        sampler.prepare(context: context)
        positives.withUnsafeBufferPointer { input in
            negatives.withUnsafeMutableBufferPointer { output in
                sampler.sampleNegatives(for: input, into: output, synthetic: nil, context: context, random: &random)
            }
        }
        return negatives
    }

    @Test("popularity: frequencies follow exposure^α and skip clicked items")
    func popularity() {
        let (model, history, exposure) = world()
        let context = SamplingContext(model: model, history: history, exposure: exposure)
        var sampler = PopularityNegativeSampler(exponent: 1)
        let draws = draw(&sampler, context, count: 200_000)
        #expect(!draws.contains(0) && !draws.contains(1))
        var counts = [Double](repeating: 0, count: 20)
        for item in draws { counts[Int(item)] += 1 }
        // With α = 1, item 19 is drawn 19/2 times as often as item 2.
        #expect(abs(counts[19] / counts[2] - 9.5) < 0.5)
        var flat = PopularityNegativeSampler(exponent: 0)
        var flatCounts = [Double](repeating: 0, count: 20)
        for item in draw(&flat, context, count: 100_000) { flatCounts[Int(item)] += 1 }
        #expect(abs(flatCounts[19] / flatCounts[2] - 1) < 0.1)
    }

    @Test("dns: keeps the highest-scored candidate")
    func dns() {
        let (model, history, exposure) = world()
        // Make item 7 score far above every other item for user 0.
        model.users.row(0)[0] = 1
        model.items.row(7)[0] = 100
        let context = SamplingContext(model: model, history: history, exposure: exposure)
        var sampler = DynamicNegativeSampler(candidates: 80)
        let draws = draw(&sampler, context, count: 200)
        // With 80 uniform candidates among 18 items, item 7 is missed with probability (17/18)^80 ≈ 1 %.
        #expect(draws.filter { $0 == 7 }.count > 190)
        #expect(!draws.contains(0) && !draws.contains(1))
    }

    @Test("exposed: an impression the user did not click, else uniform")
    func exposed() {
        let (model, history, exposure) = world(tracksImpressions: true)
        let context = SamplingContext(model: model, history: history, exposure: exposure)
        var sampler = ExposedNegativeSampler()
        let uniform = draw(&sampler, context, count: 500)
        #expect(Set(uniform).count > 10, "no impressions yet: uniform over non-clicked items")
        history.recordImpression(user: 0, item: 5)
        history.recordImpression(user: 0, item: 9)
        history.recordImpression(user: 0, item: 1) // clicked: never an exposed negative
        let shown = draw(&sampler, context, count: 500)
        #expect(Set(shown) == [5, 9])
        history.record(user: 0, item: 9) // clicking removes it from the shown-not-clicked list
        #expect(Set(draw(&sampler, context, count: 100)) == [5])
    }

    @Test("training gives the same bits with 1 and 2 threads, for Adam and SGD")
    func threadIndependentTraining() {
        for optimizer in OptimizerKind.allCases {
            func run(threads: Int) -> [Float] {
                var configuration = RecommenderConfiguration()
                configuration.model.threads = threads
                configuration.model.optimizer = optimizer
                configuration.trainingBatchSize = 700
                configuration.evaluateEveryNthClick = 0
                let recommender = OnlineRecommender(configuration: configuration)
                var simulator = ClickSimulator(configuration: SimulatorConfiguration())
                for _ in 0..<30_000 { recommender.step(simulator.next(), fallbackTimestamp: 0) }
                return (0..<20).flatMap { recommender.model.items.values(of: Int32($0)) + recommender.model.users.values(of: Int32($0)) }
                    + recommender.model.itemBias.array
            }
            let one = run(threads: 1)
            let two = run(threads: 2)
            let firstDifference = zip(one, two).enumerated().first { $0.element.0 != $0.element.1 }?.offset
            #expect(firstDifference == nil, "\(optimizer): first difference at \(firstDifference ?? -1) of \(one.count)")
        }
    }
}
