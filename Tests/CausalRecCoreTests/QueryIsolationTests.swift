import CausalRecCore
import Foundation
import Synchronization
import Testing

/// Queries from outside the stream (`peekRecommendation`) rank in their caller's own buffers: they
/// write nothing of the recommender, so readers may run side by side, and the stream computes
/// the same afterwards as if nobody had asked.
@Suite("Queries write nothing of the recommender")
struct QueryIsolationTests {
    /// Lets threads share a recommender that no one writes while they run.
    final class Shared: @unchecked Sendable {
        let recommender: OnlineRecommender
        init(_ recommender: OnlineRecommender) { self.recommender = recommender }
    }

    static func trained() -> OnlineRecommender {
        var configuration = StateRestoreTests.configuration(sampler: "random", threads: 1)
        // The stream's ranker pre-scans in 8 bits (it keeps its copy current from the model's
        // changed rows, which a query must not drain).
        configuration.approximateRanking = ApproximateRanking(minimumItems: 100, candidates: 40)
        var simulatorConfiguration = SimulatorConfiguration()
        simulatorConfiguration.users = 300
        simulatorConfiguration.items = 400
        var simulator = ClickSimulator(configuration: simulatorConfiguration)
        let recommender = OnlineRecommender(configuration: configuration)
        for _ in 0..<20_000 { recommender.step(simulator.next(), fallbackTimestamp: 0) }
        return recommender
    }

    @Test("two threads querying at once get the answers of one at a time, and the stream goes on as if unasked")
    func concurrentQueries() throws {
        let asked = Self.trained()
        let unasked = Self.trained()
        let users = (0..<300).map { "u\($0)" }
        let scratch = asked.makeQueryRanker()
        let expected = users.map { asked.peekRecommendation(user: $0, k: 20, at: 0, scratch: scratch).items }
        #expect(expected.contains { !$0.isEmpty })
        let before = StateRestoreTests.state(of: asked)

        let shared = Shared(asked)
        let answers = Mutex<[Int: [[ScoredItem]]]>([:])
        let group = DispatchGroup()
        for thread in 0..<2 {
            DispatchQueue.global().async(group: group) {
                let own = shared.recommender.makeQueryRanker()
                var mine: [[ScoredItem]] = []
                for _ in 0..<5 {
                    mine = users.map { shared.recommender.peekRecommendation(user: $0, k: 20, at: 0, scratch: own).items }
                }
                answers.withLock { $0[thread] = mine }
            }
        }
        group.wait()
        let answered = answers.withLock { $0 }
        #expect(answered[0] == expected && answered[1] == expected)
        #expect(StateRestoreTests.state(of: asked) == before)

        // The stream's next answers and steps are those of a twin nobody queried.
        var simulatorConfiguration = SimulatorConfiguration()
        simulatorConfiguration.users = 300
        simulatorConfiguration.items = 400
        simulatorConfiguration.seed = 99
        var more = ClickSimulator(configuration: simulatorConfiguration)
        for _ in 0..<2_000 {
            let event = more.next()
            asked.step(event, fallbackTimestamp: 0)
            unasked.step(event, fallbackTimestamp: 0)
        }
        for user in users.prefix(50) {
            #expect(asked.recommend(user: user, k: 20, at: 0).items == unasked.recommend(user: user, k: 20, at: 0).items)
        }
        #expect(StateRestoreTests.state(of: asked) == StateRestoreTests.state(of: unasked))
    }
}
