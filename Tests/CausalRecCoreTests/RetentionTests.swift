import CausalRecCore
import Testing

@Suite("Bounded memory: admission, row limits, idle eviction, forget")
struct RetentionTests {
    static func churningStream(_ count: Int, churnEvery: Int? = 20) -> [Event] {
        var configuration = SimulatorConfiguration()
        configuration.users = 100
        configuration.items = 150
        configuration.churnEvery = churnEvery
        var simulator = ClickSimulator(configuration: configuration)
        return (0..<count).map { _ in simulator.next() }
    }

    static func configuration(sampler: String = "random") -> RecommenderConfiguration {
        var configuration = StateRestoreTests.configuration(sampler: sampler, threads: 2)
        // The simulator's events are 100 ms apart: a user comes back about every 10 s of event
        // time, a churned-out id never.
        configuration.retention.userIdleSeconds = 60
        configuration.retention.itemIdleSeconds = 60
        configuration.retention.sweepEvery = 500
        return configuration
    }

    @Test("with churn and idle eviction the rows stay bounded; without, they grow with every id")
    func rowsStayBounded() {
        let stream = Self.churningStream(40_000)
        let bounded = OnlineRecommender(configuration: Self.configuration())
        var unbounded = Self.configuration()
        unbounded.retention = RetentionConfiguration()
        let growing = OnlineRecommender(configuration: unbounded)
        for event in stream {
            bounded.step(event, fallbackTimestamp: 0)
            growing.step(event, fallbackTimestamp: 0)
        }
        // 2,000 churned users and items came and went.
        #expect(growing.model.userCount > 1_900 && growing.model.itemCount > 1_900)
        #expect(bounded.model.userCount < 300 && bounded.model.itemCount < 400,
                "\(bounded.model.userCount) user rows, \(bounded.model.itemCount) item rows")
        #expect(bounded.retention.evictedUsers > 1_500 && bounded.retention.evictedItems > 1_500)
        // Rankings never name a free row (an evicted item has no id).
        for user in 0..<100 {
            let recommendation = bounded.recommend(user: "u\(user)", k: 50, at: 0)
            #expect(recommendation.items.allSatisfy { !$0.item.isEmpty && bounded.itemRow(ofKnown: $0.item) != nil })
        }
    }

    @Test("eviction, row reuse and admission survive a restore bit for bit", arguments: ["random", "cnsdiff"])
    func restoreWithEviction(sampler: String) throws {
        let stream = Self.churningStream(12_000)
        var configuration = Self.configuration(sampler: sampler)
        configuration.retention.userAdmitAfter = 2
        configuration.retention.itemAdmitAfter = 2
        let straight = OnlineRecommender(configuration: configuration)
        for event in stream { straight.step(event, fallbackTimestamp: 0) }
        #expect(straight.retention.evictedUsers > 0 && straight.retention.evictedItems > 0)

        let first = OnlineRecommender(configuration: configuration)
        for event in stream[..<6_111] { first.step(event, fallbackTimestamp: 0) }
        var reader = StateReader(StateRestoreTests.state(of: first))
        let resumed = OnlineRecommender(configuration: configuration)
        try resumed.readState(from: &reader)
        #expect(reader.isAtEnd)
        for event in stream[6_111...] { resumed.step(event, fallbackTimestamp: 0) }
        #expect(StateRestoreTests.state(of: resumed) == StateRestoreTests.state(of: straight))
    }

    /// A stream where every event names new ids, with alice clicking item A every 50 events.
    static func distinctIdStream(_ count: Int) -> [Event] {
        let start: Int64 = 1_700_000_000_000
        return (0..<count).map { index in
            let time = start + Int64(index) * 100
            if index % 50 == 0 { return .click(Click(user: "alice", item: "A", timestamp: time)) }
            if index % 3 == 0 { return .click(Click(user: "u\(index)", item: "i\(index)", timestamp: time)) }
            return .impression(Impression(user: "u\(index)", items: ["i\(index)", "A", "j\(index)"], timestamp: time))
        }
    }

    static func limitedConfiguration() -> RecommenderConfiguration {
        var configuration = StateRestoreTests.configuration(sampler: "random", threads: 1)
        configuration.retention = RetentionConfiguration()
        configuration.retention.maxUsers = 200
        configuration.retention.maxItems = 128
        return configuration
    }

    @Test("the defaults bound the rows")
    func defaultLimits() {
        let retention = RetentionConfiguration()
        #expect(retention.maxUsers > 0 && retention.maxUsers <= 1_000_000)
        #expect(retention.maxItems > 0 && retention.maxItems <= 1_000_000)
    }

    @Test("past a row limit the least recently seen rows go, and never an active user's or the event's own")
    func rowLimits() throws {
        let recommender = OnlineRecommender(configuration: Self.limitedConfiguration())
        for event in Self.distinctIdStream(20_000) {
            recommender.step(event, fallbackTimestamp: 0)
            #expect(recommender.activeUsers <= 200 && recommender.activeItems <= 128)
        }
        // Users get a row from their click (a third of the events), items from every event.
        #expect(recommender.retention.limitEvictedUsers > 6_000 && recommender.retention.limitEvictedItems > 19_000)
        #expect(recommender.retention.evictedUsers == recommender.retention.limitEvictedUsers)
        // Alice and A are seen every 50 events (A in every impression): they stay, with alice's history.
        let alice = try #require(recommender.userRow(ofKnown: "alice"))
        let item = try #require(recommender.itemRow(ofKnown: "A"))
        #expect(recommender.history.clicked(by: alice).contains(item))
        #expect(recommender.recommend(user: "alice", k: 5, at: 0).source != .mostExposed)
        // The ids of the latest events are still there; the early ones are gone.
        #expect(recommender.userRow(ofKnown: "u19998") != nil && recommender.itemRow(ofKnown: "j19999") != nil)
        #expect(recommender.userRow(ofKnown: "u3") == nil && recommender.itemRow(ofKnown: "j1") == nil)
        // An event naming more new items than the limit keeps them all (one event's slate at most).
        let slate = (0..<300).map { "slate\($0)" }
        recommender.step(.impression(Impression(user: "bob", items: slate, timestamp: 1_700_010_000_000)), fallbackTimestamp: 0)
        #expect(slate.allSatisfy { recommender.itemRow(ofKnown: $0) != nil })
        #expect(recommender.activeItems == 300)
    }

    @Test("evictions at the row limits survive a restore bit for bit")
    func restoreWithRowLimits() throws {
        let stream = Self.distinctIdStream(6_000)
        let configuration = Self.limitedConfiguration()
        let straight = OnlineRecommender(configuration: configuration)
        for event in stream { straight.step(event, fallbackTimestamp: 0) }
        #expect(straight.retention.evictedItems > 0)
        let first = OnlineRecommender(configuration: configuration)
        for event in stream[..<3_001] { first.step(event, fallbackTimestamp: 0) }
        var reader = StateReader(StateRestoreTests.state(of: first))
        let resumed = OnlineRecommender(configuration: configuration)
        try resumed.readState(from: &reader)
        for event in stream[3_001...] { resumed.step(event, fallbackTimestamp: 0) }
        #expect(StateRestoreTests.state(of: resumed) == StateRestoreTests.state(of: straight))
    }

    @Test("an id gets a row only after `admit_after` events")
    func admission() {
        var configuration = Self.configuration()
        configuration.retention.userAdmitAfter = 3
        let recommender = OnlineRecommender(configuration: configuration)
        for index in 0..<2 {
            recommender.step(.click(Click(user: "newcomer", item: "i\(index)", timestamp: 1_700_000_000_000)), fallbackTimestamp: 0)
        }
        #expect(recommender.userRow(ofKnown: "newcomer") == nil)
        #expect(recommender.applied.clicks == 2)
        recommender.step(.click(Click(user: "newcomer", item: "i2", timestamp: 1_700_000_000_000)), fallbackTimestamp: 0)
        #expect(recommender.userRow(ofKnown: "newcomer") != nil)
    }

    @Test("forget: the user's row, history and queued positives leave the state, and nothing else changes")
    func forget() {
        let stream = Self.churningStream(5_000, churnEvery: 1_000_000)
        let recommender = OnlineRecommender(configuration: StateRestoreTests.configuration(sampler: "random", threads: 1))
        for event in stream { recommender.step(event, fallbackTimestamp: 0) }
        let secret = "person-to-forget@example.org"
        for item in ["i1", "i2", "i3"] {
            recommender.step(.impression(Impression(user: secret, items: [item], timestamp: 1_700_000_600_000)), fallbackTimestamp: 0)
            recommender.step(.click(Click(user: secret, item: item, timestamp: 1_700_000_600_001)), fallbackTimestamp: 0)
        }
        let clicksBefore = recommender.history.totalClicks
        #expect(StateRestoreTests.state(of: recommender).containsSequence(Array(secret.utf8)))
        recommender.step(.forget(ForgetRequest(user: secret, timestamp: nil)), fallbackTimestamp: 0)
        #expect(recommender.userRow(ofKnown: secret) == nil)
        #expect(recommender.history.totalClicks == clicksBefore - 3)
        #expect(recommender.applied.forgets == 1)
        #expect(!StateRestoreTests.state(of: recommender).containsSequence(Array(secret.utf8)))
        #expect(recommender.recommend(user: secret, k: 5, at: 0).source == .mostExposed)
        // The freed row goes to the next new user, who starts from a clean slate.
        recommender.step(.click(Click(user: "successor", item: "i4", timestamp: 1_700_000_700_000)), fallbackTimestamp: 0)
        let row = recommender.userRow(ofKnown: "successor")!
        #expect(recommender.history.clicked(by: row).count == 1)
    }
}

extension Array where Element == UInt8 {
    func containsSequence(_ needle: [UInt8]) -> Bool {
        guard !needle.isEmpty, needle.count <= count else { return false }
        for start in 0...(count - needle.count) where self[start] == needle[0] && Array(self[start..<start + needle.count]) == needle {
            return true
        }
        return false
    }
}
