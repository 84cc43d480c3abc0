import CausalRecCore
import Testing

@Suite("Event time robust to events stamped ahead")
struct EventClockTests {
    @Test("one event far ahead is applied at the current time; late events are taken as they are")
    func outlier() {
        var clock = EventClock(maxStep: 600_000, confirmations: 4)
        #expect(clock.admit(1_000_000, from: "a") == 1_000_000)
        #expect(clock.admit(1_000_500, from: "b") == 1_000_500)
        #expect(clock.admit(1_000_000 + 365 * 86_400_000, from: "c") == 1_000_500)
        #expect(clock.latest == 1_000_500)
        #expect(clock.admit(900_000, from: "a") == 900_000)
        #expect(clock.latest == 1_000_500)
        #expect(clock.heldBack == 1)
    }

    @Test("a run ahead from one source never moves the clock, however long")
    func oneSource() {
        var clock = EventClock(maxStep: 600_000, confirmations: 4)
        _ = clock.admit(1_000_000, from: "a")
        for index in 0..<1_000 {
            #expect(clock.admit(1_000_000 + 23 * 3_600_000 + Int64(index), from: "forger") == 1_000_000)
        }
        #expect(clock.latest == 1_000_000)
        #expect(clock.heldBack == 1_000)
    }

    @Test("a confirmed run from several sources moves the clock by at most one step per event, never ahead of it")
    func boundedSteps() {
        let step: Int64 = 600_000
        var clock = EventClock(maxStep: step, confirmations: 4)
        _ = clock.admit(1_000_000, from: "a")
        // The stream resumes after an hour; the fourth event of the run (two sources) confirms it.
        let later: Int64 = 1_000_000 + 3_600_000
        for index in 0..<3 { #expect(clock.admit(later + Int64(index), from: "u\(index % 2)") == 1_000_000) }
        #expect(clock.admit(later + 3, from: "u1") == 1_000_000 + step)
        #expect(clock.latest == 1_000_000 + step)
        // Each further event of the run moves it one more step, until it reaches the run.
        for expected in 2...5 { #expect(clock.admit(later + 4, from: "u0") == 1_000_000 + Int64(expected) * step) }
        #expect(clock.admit(later + 5, from: "u1") == later + 5, "within one step of the clock: taken as stamped")
        #expect(clock.latest == later + 5)
        #expect(clock.heldBack == 8)
    }

    @Test("a run from several sources interrupted by a current event starts over")
    func interrupted() {
        var clock = EventClock(maxStep: 600_000, confirmations: 4)
        _ = clock.admit(1_000_000, from: "a")
        for round in 0..<50 {
            for index in 0..<3 { _ = clock.admit(90_000_000 + Int64(round), from: "f\(index)") }
            _ = clock.admit(1_000_000 + Int64(round), from: "a")
        }
        #expect(clock.latest == 1_000_049)
    }

    @Test("a run in progress continues after a restore exactly as without it")
    func restoreMidRun() throws {
        let configuration = RecommenderConfiguration()
        let straight = OnlineRecommender(configuration: configuration)
        let events: [Event] = [.impression(Impression(user: "a", items: ["i"], timestamp: 1_000_000))]
            + (0..<12).map { .impression(Impression(user: "s\($0 % 3)", items: ["i"], timestamp: 80_000_000 + Int64($0))) }
        for event in events.prefix(4) { straight.step(event, fallbackTimestamp: 0) }
        let resumed = OnlineRecommender(configuration: configuration)
        var reader = StateReader(StateRestoreTests.state(of: straight))
        try resumed.readState(from: &reader)
        for event in events.dropFirst(4) {
            #expect(resumed.step(event, fallbackTimestamp: 0).time == straight.step(event, fallbackTimestamp: 0).time)
        }
        #expect(resumed.latestTimestamp == straight.latestTimestamp && resumed.eventsHeldBack == straight.eventsHeldBack)
        #expect(straight.latestTimestamp > 1_000_000, "the run was confirmed")
    }

    /// 700 impressions of A1–A5 and clicks by `alice`, 8 impressions of `Z` stamped 23 h ahead,
    /// 300 more of A1–A5: with retention on, one hour's half-life and a sweep every 100 events.
    static func takeover(forgedSources: Int) -> OnlineRecommender {
        var configuration = RecommenderConfiguration()
        configuration.retention.userIdleSeconds = 7_200
        configuration.retention.itemIdleSeconds = 7_200
        configuration.retention.sweepEvery = 100
        configuration.trainingBatchSize = 8
        let recommender = OnlineRecommender(configuration: configuration)
        let start: Int64 = 1_700_000_000_000
        var time = start
        func impression(_ user: String, _ item: String) {
            time += 1_000
            recommender.step(.impression(Impression(user: user, items: [item], timestamp: time)), fallbackTimestamp: 0)
        }
        for index in 0..<700 {
            impression("viewer\(index % 20)", "A\(index % 5 + 1)")
            if index % 10 == 0 {
                recommender.step(.click(Click(user: "alice", item: "A\(index % 5 + 1)", timestamp: time)), fallbackTimestamp: 0)
            }
        }
        for index in 0..<8 {
            recommender.step(.impression(Impression(user: "forger\(index % forgedSources)", items: ["Z"], timestamp: time + 23 * 3_600_000)),
                             fallbackTimestamp: 0)
        }
        for index in 0..<300 { impression("viewer\(index % 20)", "A\(index % 5 + 1)") }
        return recommender
    }

    @Test("eight impressions stamped 23 h ahead neither take over the exposure estimates nor evict the clicking user",
          arguments: [1, 8])
    func eightEventsAhead(forgedSources: Int) throws {
        let recommender = Self.takeover(forgedSources: forgedSources)
        let z = try #require(recommender.itemRow(ofKnown: "Z"))
        #expect(recommender.exposure.propensity(of: z) < 0.05, "Z's propensity \(recommender.exposure.propensity(of: z))")
        let cold = recommender.recommend(user: "newcomer", k: 5, at: recommender.latestTimestamp)
        #expect(cold.items.first?.item != "Z", "a cold user's answer leads with the forged item")
        let alice = recommender.recommend(user: "alice", k: 3, at: recommender.latestTimestamp)
        #expect(alice.source != .mostExposed, "alice's history was evicted")
        #expect(recommender.retention.evictedUsers == 0 && recommender.retention.evictedItems == 0)
        #expect(recommender.latestTimestamp - 1_700_000_000_000 <= 1_000 * 1_000 + 600_000, "the clock ran more than one step ahead")
        #expect(recommender.eventsHeldBack >= 7)
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
        #expect(recommender.retention.evictedUsers == 0 && recommender.retention.evictedItems == 0, "rows were evicted as if a decade had passed")
    }
}
