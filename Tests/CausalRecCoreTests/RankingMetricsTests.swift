import CausalRecCore
import Foundation
import Testing

@Suite("Offline ranking metrics against hand-computed cases")
struct RankingMetricsTests {
    let relevantOneAndTwo = ExcludedItems(sorted: [1, 2])

    @Test func recallAndNDCG() {
        let ranked: [Int32] = [3, 1, 7, 2]
        // Hits at ranks 2 and 4: DCG = 1/log2(3) + 1/log2(5); IDCG = 1 + 1/log2(3).
        let dcg = 1 / log2(3.0) + 1 / log2(5.0)
        let ideal = 1 + 1 / log2(3.0)
        #expect(abs(RankingMetrics.ndcg(ranked: ranked, relevant: relevantOneAndTwo, k: 10) - dcg / ideal) < 1e-12)
        #expect(abs(RankingMetrics.ndcg(ranked: ranked, relevant: relevantOneAndTwo, k: 10) - 0.650_920_9) < 1e-6)
        #expect(RankingMetrics.recall(ranked: ranked, relevant: relevantOneAndTwo, k: 10) == 1)
        // Cut at 2: only the hit at rank 2 counts; IDCG still has two terms (min(2, 2)).
        #expect(abs(RankingMetrics.ndcg(ranked: ranked, relevant: relevantOneAndTwo, k: 2) - (1 / log2(3.0)) / ideal) < 1e-12)
        #expect(RankingMetrics.recall(ranked: ranked, relevant: relevantOneAndTwo, k: 2) == 0.5)
        #expect(RankingMetrics.recall(ranked: [9, 8], relevant: relevantOneAndTwo, k: 2) == 0)
    }

    @Test("IDCG counts min(|relevant|, K) positions")
    func idealIsCappedAtK() {
        let relevant = ExcludedItems(sorted: Array(0..<30))
        let ranked = Array(Int32(0)..<20)
        #expect(abs(RankingMetrics.ndcg(ranked: ranked, relevant: relevant, k: 20) - 1) < 1e-12)
        #expect(abs(RankingMetrics.recall(ranked: ranked, relevant: relevant, k: 20) - 20.0 / 30.0) < 1e-12)
    }

    @Test func gini() {
        #expect(RankingMetrics.gini([1, 1, 1, 1]) == 0)
        #expect(abs(RankingMetrics.gini([0, 0, 0, 1]) - 0.75) < 1e-12)
        #expect(abs(RankingMetrics.gini([0, 1, 1, 1, 1]) - 0.2) < 1e-12)
        #expect(RankingMetrics.gini([0, 0]) == 0)
    }

    @Test("the evaluator masks training items and aggregates list statistics")
    func evaluatorOnMostPopular() {
        let scorer = PopularityScorer(clickCounts: [5, 4, 3, 2, 1])
        // User 0 trained on item 0 (masked); user 1 trained on nothing.
        let masks = [ExcludedItems(sorted: [0]), .none]
        let evaluator = OfflineEvaluator(masks: masks, popularity: [5, 4, 3, 2, 1], threads: 2)
        let split = EvaluationSplit(name: "test", relevant: [0: ExcludedItems(sorted: [1, 4])])
        let metrics = evaluator.evaluate(scorer, on: split)
        // User 0's list: [1, 2, 3, 4]; hits at ranks 1 and 4.
        #expect(metrics.users == 1)
        #expect(metrics.recall20 == 1)
        #expect(abs(metrics.ndcg20 - (1 + 1 / log2(5.0)) / (1 + 1 / log2(3.0))) < 1e-12)
        #expect(metrics.recall10 == 1)
        #expect(abs(metrics.coverage20 - 0.8) < 1e-12)
        #expect(abs(metrics.averagePopularity20 - 2.5) < 1e-12)
        #expect(abs(metrics.gini20 - 0.2) < 1e-12)

        // Two users: the metrics are per-user means.
        let both = EvaluationSplit(name: "test", relevant: [0: ExcludedItems(sorted: [1, 4]), 1: ExcludedItems(sorted: [3])])
        let averaged = evaluator.evaluate(scorer, on: both)
        // User 1's list: [0, 1, 2, 3, 4]; the hit is at rank 4, one relevant item.
        let user1 = 1 / log2(5.0)
        #expect(abs(averaged.ndcg20 - ((1 + 1 / log2(5.0)) / (1 + 1 / log2(3.0)) + user1) / 2) < 1e-12)
        #expect(averaged.recall20 == 1)
        #expect(averaged.coverage20 == 1)
    }

    @Test("results do not depend on the number of threads")
    func threadIndependent() {
        var configuration = ModelConfiguration()
        configuration.dimension = 16
        configuration.initialStandardDeviation = 1
        let model = MatrixFactorization(configuration: configuration)
        model.growUsers(to: 50)
        model.growItems(to: 300)
        var relevant: [Int32: ExcludedItems] = [:]
        for user in Int32(0)..<50 { relevant[user] = ExcludedItems(sorted: [user, user + 100, user + 200]) }
        let masks = (0..<50).map { ExcludedItems(sorted: [Int32($0) + 1]) }
        let split = EvaluationSplit(name: "s", relevant: relevant)
        let one = OfflineEvaluator(masks: masks, popularity: [Int32](repeating: 1, count: 300), threads: 1).evaluate(model, on: split)
        let two = OfflineEvaluator(masks: masks, popularity: [Int32](repeating: 1, count: 300), threads: 2).evaluate(model, on: split)
        #expect(one == two)
    }
}
