import CausalRecCore
import Foundation
import Testing

@Suite("Online recommender")
struct OnlineRecommenderTests {
    @Test("a user without clicks gets the most exposed items, never an empty list")
    func coldUserGetsMostExposed() {
        let recommender = OnlineRecommender(configuration: RecommenderConfiguration())
        recommender.step(.impression(Impression(user: "a", items: ["x", "y", "z"], timestamp: 1_700_000_000_000)), fallbackTimestamp: 0)
        recommender.step(.impression(Impression(user: "b", items: ["y"], timestamp: 1_700_000_000_001)), fallbackTimestamp: 0)
        let answer = recommender.step(.request(RecommendationRequest(user: "new", k: 2, timestamp: nil)), fallbackTimestamp: 1_700_000_000_002).answers.first
        #expect(answer?.source == .mostExposed)
        #expect(answer?.items.map(\.item) == ["y", "x"])
        #expect(answer?.timestamp == 1_700_000_000_002)
    }

    @Test("model_version counts training batches; clicked items are never recommended")
    func versionsAndExclusion() {
        var configuration = RecommenderConfiguration()
        configuration.trainingBatchSize = 4
        let recommender = OnlineRecommender(configuration: configuration)
        for index in 0..<50 {
            recommender.step(.impression(Impression(user: "u", items: ["i\(index)"], timestamp: 1_700_000_000_000)), fallbackTimestamp: 0)
        }
        for index in 0..<10 {
            recommender.step(.click(Click(user: "u", item: "i\(index)", timestamp: 1_700_000_000_000)), fallbackTimestamp: 0)
        }
        #expect(recommender.modelVersion == 2)
        #expect(recommender.training.pendingCount == 2)
        recommender.flushTraining()
        #expect(recommender.modelVersion == 3)
        let answer = recommender.recommend(user: "u", k: 45, at: 0)
        #expect(answer.source == .model)
        #expect(answer.items.count == 40)
        #expect(Set(answer.items.map(\.item)).isDisjoint(with: (0..<10).map { "i\($0)" }))
        #expect(recommender.applied.impressions == 50 && recommender.applied.clicks == 10 && recommender.applied.requests == 0)
    }

    @Test("`ranking` says which path answered: model, adjusted, cold_start, most_exposed")
    func rankingPaths() {
        func recommender(ranking: Double, coldStart: Double) -> OnlineRecommender {
            var configuration = RecommenderConfiguration()
            configuration.deconfounding.onlineRankingExponents = []
            configuration.deconfounding.onlineColdStartExponents = []
            configuration.deconfounding.rankingExponent = ranking
            configuration.deconfounding.coldStartExponent = coldStart
            configuration.deconfounding.coldStartClicks = 3
            let recommender = OnlineRecommender(configuration: configuration)
            for index in 0..<30 {
                recommender.step(.impression(Impression(user: "x", items: ["i\(index)", "i0"], timestamp: 1_700_000_000_000)), fallbackTimestamp: 0)
            }
            recommender.step(.click(Click(user: "cold", item: "i1", timestamp: 1_700_000_000_000)), fallbackTimestamp: 0)
            for index in 2..<7 { recommender.step(.click(Click(user: "warm", item: "i\(index)", timestamp: 1_700_000_000_000)), fallbackTimestamp: 0) }
            recommender.flushTraining()
            return recommender
        }
        let adjusting = recommender(ranking: 1, coldStart: 4)
        #expect(adjusting.recommend(user: "warm", k: 5, at: 0).source == .adjusted)
        let cold = adjusting.recommend(user: "cold", k: 5, at: 0)
        #expect(cold.source == .coldStart)
        // γ̃ = 4 on i0's exposure (shown 30 times, every other item once or twice) puts it first.
        #expect(cold.items.first?.item == "i0")
        #expect(adjusting.recommend(user: "nobody", k: 5, at: 0).source == .mostExposed)
        let plain = recommender(ranking: 0, coldStart: 0)
        #expect(plain.recommend(user: "warm", k: 5, at: 0).source == .model)
        #expect(plain.recommend(user: "cold", k: 5, at: 0).source == .model)
    }

    @Test("the online choice of γ̃ moves to exposure when clicks follow exposure")
    func onlineChoiceFollowsExposure() {
        var configuration = RecommenderConfiguration()
        configuration.evaluateEveryNthClick = 1
        configuration.deconfounding.onlineRankingExponents = [0, 0.5, 1, 2]
        let recommender = OnlineRecommender(configuration: configuration)
        var random = Xoshiro256(seed: 5)
        var time: Int64 = 1_700_000_000_000
        // 200 items; item k is shown ∝ 1/(k+1) and every click picks a shown item: exposure
        // predicts clicks, the user embeddings (random users) do not.
        for _ in 0..<3_000 {
            time += 1_000
            let user = "u\(random.nextIndex(below: 300))"
            let slate = (0..<5).map { _ in "i\(Int(pow(200.0, random.nextUnitDouble())) - 1)" }
            recommender.step(.impression(Impression(user: user, items: slate, timestamp: time)), fallbackTimestamp: 0)
            recommender.step(.click(Click(user: user, item: slate[0], timestamp: time)), fallbackTimestamp: 0)
        }
        #expect(recommender.ranking.rankingExponent.observed > 1_000)
        #expect(recommender.ranking.rankingExponent.chosen > 0)
    }

    @Test("a sampled impression share thins the shown items the samplers read, not the exposure estimate")
    func sampledImpressionShare() {
        func run(share: Double) -> (shown: Int, exposure: Double) {
            var configuration = RecommenderConfiguration()
            configuration.sampler = SamplerConfiguration(kind: .exposed)
            configuration.sampledImpressionShare = share
            let recommender = OnlineRecommender(configuration: configuration)
            let time: Int64 = 1_700_000_000_000
            recommender.step(.impression(Impression(user: "u", items: (0..<2_000).map { "i\($0)" }, timestamp: time)), fallbackTimestamp: 0)
            let exposure = (0..<Int32(2_000)).reduce(0.0) { $0 + recommender.exposure.exposure(of: $1, at: time) }
            return (recommender.history.impressedNotClicked(by: 0).count, exposure)
        }
        let all = run(share: 1)
        let tenth = run(share: 0.1)
        #expect(all.shown == 2_000)
        #expect(abs(tenth.shown - 200) < 45, "about a tenth of the shown items: \(tenth.shown)")
        #expect(tenth.exposure == all.exposure)
        #expect(run(share: 0.1).shown == tenth.shown, "the choice is a hash, the same every run")
    }
}
