import CausalRecCore
import Testing

@Suite("Event time robust to outliers")
struct EventClockTests {
    @Test("one event far ahead is applied at the current time; a run of them is a real gap and moves the clock")
    func clock() {
        var clock = EventClock(maxStep: 600_000, confirmations: 4)
        #expect(clock.admit(1_000_000) == 1_000_000)
        #expect(clock.admit(1_000_500) == 1_000_500)
        // A year ahead, once: held at the current time.
        #expect(clock.admit(1_000_000 + 365 * 86_400_000) == 1_000_500)
        #expect(clock.latest == 1_000_500)
        // Late events are taken as they are.
        #expect(clock.admit(900_000) == 900_000)
        #expect(clock.latest == 1_000_500)
        // The stream resumes after a day: the fourth event in a row confirms it.
        let later: Int64 = 1_000_500 + 86_400_000
        #expect(clock.admit(later) == 1_000_500)
        #expect(clock.admit(later + 1) == 1_000_500)
        #expect(clock.admit(later + 2) == 1_000_500)
        #expect(clock.admit(later + 3) == later + 3)
        #expect(clock.latest == later + 3)
        #expect(clock.heldBack == 4)
    }

    @Test("a single event stamped years ahead neither wipes the exposure estimates nor evicts every row")
    func recommenderSurvivesOutlier() {
        var configuration = RecommenderConfiguration()
        configuration.retention.userIdleSeconds = 3_600
        configuration.retention.itemIdleSeconds = 3_600
        configuration.retention.sweepEvery = 1
        let recommender = OnlineRecommender(configuration: configuration)
        let start: Int64 = 1_700_000_000_000
        for index in 0..<200 {
            let item = "i\(index % 10)"
            _ = recommender.step(.impression(Impression(user: "u\(index % 5)", items: [item, "i0"], timestamp: start + Int64(index) * 1_000)),
                                  fallbackTimestamp: 0)
        }
        let before = recommender.mostExposed(limit: 3)
        let users = recommender.users.activeCount
        // One producer with a broken clock, ten years ahead.
        _ = recommender.step(.impression(Impression(user: "u1", items: ["i9"], timestamp: start + 10 * 365 * 86_400_000)), fallbackTimestamp: 0)
        for index in 200..<210 {
            _ = recommender.step(.impression(Impression(user: "u\(index % 5)", items: ["i\(index % 10)"], timestamp: start + Int64(index) * 1_000)),
                                  fallbackTimestamp: 0)
        }
        #expect(recommender.mostExposed(limit: 3) == before, "the exposure ranking changed")
        #expect((0..<10).allSatisfy { recommender.exposure.propensity(of: recommender.itemRow(ofKnown: "i\($0)")!) > 0 })
        #expect(recommender.users.activeCount == users)
        #expect(recommender.evictedUsers == 0 && recommender.evictedItems == 0, "rows were evicted as if a decade had passed")
    }
}
