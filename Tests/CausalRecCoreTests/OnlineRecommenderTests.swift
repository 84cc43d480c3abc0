import CausalRecCore
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
        #expect(recommender.pendingPositives == 2)
        recommender.flushTraining()
        #expect(recommender.modelVersion == 3)
        let answer = recommender.recommend(user: "u", k: 45, at: 0)
        #expect(answer.source == .model)
        #expect(answer.items.count == 40)
        #expect(Set(answer.items.map(\.item)).isDisjoint(with: (0..<10).map { "i\($0)" }))
        #expect(recommender.applied.impressions == 50 && recommender.applied.clicks == 10 && recommender.applied.requests == 0)
    }
}
