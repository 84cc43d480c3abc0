@testable import CausalRecCore
import Testing

/// The recommender's parts on their own (training queue, row retention, ranking state), and a
/// user's state as one unit (export, import, release, its binary form).
@Suite("Recommender parts and users as units")
struct RecommenderPartsTests {
    static func trained(sampler: String = "exposed", events: Int = 4_000) -> OnlineRecommender {
        let recommender = OnlineRecommender(configuration: StateRestoreTests.configuration(sampler: sampler, threads: 1))
        for event in RetentionTests.churningStream(events, churnEvery: 0) { recommender.step(event, fallbackTimestamp: 0) }
        return recommender
    }

    static func twin(of recommender: OnlineRecommender) throws -> OnlineRecommender {
        let twin = OnlineRecommender(configuration: recommender.configuration)
        var reader = StateReader(StateRestoreTests.state(of: recommender))
        try twin.readState(from: &reader)
        return twin
    }

    // MARK: Training queue

    @Test("the training queue asks for a batch when it is full, and releasing rows drops their positives")
    func trainingQueue() {
        let recommender = OnlineRecommender(configuration: StateRestoreTests.configuration(sampler: "random", threads: 1))
        for index in 0..<10 {
            recommender.step(.impression(Impression(user: "u\(index)", items: ["a", "b", "c"], timestamp: Int64(index))), fallbackTimestamp: 0)
        }
        let training = recommender.training
        let size = recommender.configuration.trainingBatchSize
        var queued: [PositiveExample] = []
        for index in 0..<size {
            let positive = PositiveExample(user: Int32(index % 10), item: Int32(index % 3), timestamp: Int64(index), exposure: 0)
            queued.append(positive)
            #expect(training.enqueue(positive) == (index == size - 1))
        }
        training.release(users: [1], items: [2])
        #expect(training.pending == queued.filter { $0.user != 1 && $0.item != 2 })
    }

    // MARK: Row retention

    @Test("retention admits after the threshold, releases the least recently seen past a limit (sparing the event's rows), and counts only evictions")
    func retentionDecides() {
        var configuration = RetentionConfiguration()
        configuration.userAdmitAfter = 3
        configuration.maxItems = 64
        let retention = RowRetention(configuration: configuration)
        #expect(!retention.admitsUser("x", at: 1) && !retention.admitsUser("x", at: 2) && retention.admitsUser("x", at: 3))
        #expect(retention.waitingUsers.isEmpty)

        var items = IdentifierTable()
        for index in 0..<70 {
            let (row, _) = items.insert("i\(index)")
            retention.startedItem(row, at: Int64(1_000 + index), rowCount: items.count)
        }
        retention.touchItem(0, at: 5_000)
        var step = EventStep(kind: .impression, time: 5_000)
        step.itemRows = [1]
        let release = retention.rowsToRelease(after: step, users: IdentifierTable(), items: items, now: 5_000)
        // 6 over the limit plus 64/64 = 1: rows 2…8 (row 0 was seen last, row 1 is the event's).
        #expect(release.users.isEmpty && release.items == Array(2...8).map(Int32.init))
        #expect(retention.limitEvictedItems == 7)
        retention.released(RowRelease(items: [2, 3]), evicted: false)
        #expect(retention.evictedItems == 0 && retention.itemLastSeen[2] == 0)
        retention.released(RowRelease(items: [4]), evicted: true)
        #expect(retention.evictedItems == 1)
    }

    // MARK: Ranking state

    @Test("the ranking state's section round-trips on its own, and the popular list never pads with a free row")
    func rankingState() throws {
        let recommender = Self.trained(sampler: "random", events: 1_500)
        var writer = StateWriter()
        recommender.ranking.writeState(to: &writer)
        let twin = OnlineRecommender(configuration: recommender.configuration)
        var reader = StateReader(writer.bytes)
        try twin.ranking.readState(from: &reader, itemCount: recommender.items.count)
        var rewritten = StateWriter()
        twin.ranking.writeState(to: &rewritten)
        #expect(rewritten.bytes == writer.bytes)

        let fresh = OnlineRecommender(configuration: recommender.configuration)
        fresh.step(.impression(Impression(user: "u", items: ["a", "b", "c", "d"], timestamp: 1)), fallbackTimestamp: 0)
        fresh.release(RowRelease(items: [1]))
        let answer = fresh.recommend(user: "nobody", k: 10, at: 0)
        #expect(answer.items.map(\.item).sorted() == ["a", "c", "d"])
    }

    // MARK: Users as units

    @Test("a user exported, released and imported again answers exactly as before, and its record round-trips", arguments: ["random", "exposed"])
    func userMovesAsAUnit(sampler: String) throws {
        let original = Self.trained(sampler: sampler)
        let moved = try Self.twin(of: original)
        let users = ["u3", "u17", "u42"]
        let records = moved.exportUsers(users + ["nobody"])
        #expect(records.map(\.user) == users)
        let first = try #require(records.first)
        #expect(!first.clickedItems.isEmpty && first.parameters.embedding.count == original.model.dimension)
        if sampler == "exposed" { #expect(records.contains { !$0.shownItems.isEmpty }) }
        #expect(records.contains { !$0.recentPositives.isEmpty })

        let clicksBefore = moved.history.totalClicks
        moved.releaseUsers(users)
        #expect(users.allSatisfy { moved.userRow(ofKnown: $0) == nil })
        #expect(moved.history.totalClicks == clicksBefore - records.map(\.clickedItems.count).reduce(0, +))
        #expect(moved.retention.evictedUsers == original.retention.evictedUsers, "a move is not an eviction")
        #expect(moved.training.recentPositives.storage.allSatisfy { positive in
            !users.contains(moved.users.identifier(of: positive.user))
        })

        moved.importUsers(records)
        #expect(moved.exportUsers(users) == records)
        #expect(moved.history.totalClicks == clicksBefore)
        for user in users {
            #expect(moved.recommend(user: user, k: 20, at: 0) == original.recommend(user: user, k: 20, at: 0))
        }
        // Both go on learning from the same stream.
        for event in RetentionTests.churningStream(500, churnEvery: 0) {
            moved.step(event, fallbackTimestamp: 0)
        }
        #expect(moved.recommend(user: "u3", k: 5, at: 0).items.count == 5)

        for record in records {
            let decoded = try UserStateRecord(decoding: record.encode(), dimension: original.model.dimension)
            #expect(decoded == record)
        }
    }

    @Test("a crafted user record is refused with a reason")
    func craftedUserRecords() throws {
        let record = try #require(Self.trained(sampler: "random", events: 1_000).exportUsers(["u3"]).first)
        let bytes = record.encode()
        #expect(throws: StateReadError.self) { try UserStateRecord(decoding: bytes, dimension: 8) }
        #expect(throws: StateReadError.self) { try UserStateRecord(decoding: Array(bytes.dropLast(3)), dimension: 16) }
        var nonFinite = record
        nonFinite.parameters.embedding[0] = .nan
        #expect(throws: StateReadError.self) { try UserStateRecord(decoding: nonFinite.encode(), dimension: 16) }
        var repeated = record
        repeated.clickedItems.append(repeated.clickedItems[0])
        #expect(throws: StateReadError.self) { try UserStateRecord(decoding: repeated.encode(), dimension: 16) }
        var foreign = bytes
        foreign[foreign.count / 2] ^= 0xFF
        if let decoded = try? UserStateRecord(decoding: foreign, dimension: 16) {
            #expect(decoded != record, "a changed byte decoded to the same record")
        }
    }

    @Test("with item_init id, two recommenders that meet items in different orders start each item alike; with row they do not")
    func itemsStartFromTheirIds() {
        func rows(_ order: [String], _ initialization: ItemInitialization) -> [String: [Float]] {
            var configuration = RecommenderConfiguration()
            configuration.model.dimension = 8
            configuration.model.itemInitialization = initialization
            let recommender = OnlineRecommender(configuration: configuration)
            recommender.step(.impression(Impression(user: "u", items: order, timestamp: 1_700_000_000_000)), fallbackTimestamp: 0)
            return Dictionary(uniqueKeysWithValues: order.map { item in
                let row = recommender.itemRow(ofKnown: item)!
                return (item, Array(UnsafeBufferPointer(start: recommender.model.items.row(row), count: 8)))
            })
        }
        let items = ["a", "b", "c", "d"]
        let forward = rows(items, .id)
        #expect(forward == rows(items.reversed(), .id))
        #expect(Set(forward.values.map { $0.map(\.bitPattern) }).count == items.count)
        #expect(rows(items, .row) != rows(items.reversed(), .row))
    }
}
