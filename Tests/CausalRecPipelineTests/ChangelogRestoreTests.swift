import CausalRecCore
@testable import CausalRecPipeline
import CausalRecTestSupport
import Testing

@Suite("The users' changelog: records and the restore")
struct ChangelogRestoreTests {
    static let dimension = SampleUsers.dimension

    static func users(_ names: [String], clicks: Int = 3, offset: Int = 0) -> [UserStateRecord] {
        SampleUsers.records(names, clicks: clicks, offset: offset)
    }

    static func restore(_ records: [ChangelogRecord]) -> (ChangelogRestore, [String: (record: UserStateRecord, position: Int64)]) {
        var restore = ChangelogRestore(dimension: dimension)
        for record in records { restore.apply(record) }
        let users = restore.finish()
        return (restore, Dictionary(uniqueKeysWithValues: users.map { ($0.record.user, $0) }))
    }

    @Test("every kind of entry survives encoding, and its stamp with it")
    func roundTrip() throws {
        let user = Self.users(["alice"])[0]
        var applied = AppliedEventCounts()
        applied.clicks = 7
        applied.impressions = 11
        applied.requests = 2
        applied.forgets = 1
        let entries: [ChangelogEntry] = [.user(user), .userRemoved("bob"), .meta(PartitionMeta(instance: "A", applied: applied)),
                                         .claim(instance: "B")]
        for (index, entry) in entries.enumerated() {
            let stamp = ChangelogStamp(epoch: Int64(index + 1), position: Int64(100 * index))
            let record = ChangelogRecord(entry, stamp: stamp)
            #expect(try record.entry(dimension: Self.dimension) == entry)
            #expect(record.stamp == stamp)
        }
        #expect(ChangelogRecord(.userRemoved("bob"), stamp: .init(epoch: 1, position: 0)).value == nil)
        #expect(!ChangelogRecord(.user(user), stamp: .init(epoch: 1, position: 0)).isServiceRecord)
        #expect(ChangelogRecord(.claim(instance: "B"), stamp: .init(epoch: 1, position: 0)).isServiceRecord)
    }

    @Test("the last record per key stands; a tombstone removes; a compacted log restores the same users and meta")
    func lastRecordPerKey() throws {
        let first = Self.users(["alice", "bob", "carol"])
        let later = Self.users(["alice", "bob"], clicks: 5, offset: 10)
        var applied = AppliedEventCounts()
        applied.clicks = 9
        let log: [ChangelogRecord] = [
            ChangelogRecord(.claim(instance: "A"), stamp: .init(epoch: 1, position: 0)),
            ChangelogRecord(.user(first[0]), stamp: .init(epoch: 1, position: 10)),
            ChangelogRecord(.user(first[1]), stamp: .init(epoch: 1, position: 10)),
            ChangelogRecord(.user(first[2]), stamp: .init(epoch: 1, position: 10)),
            ChangelogRecord(.meta(PartitionMeta(instance: "A", applied: AppliedEventCounts())), stamp: .init(epoch: 1, position: 10)),
            ChangelogRecord(.user(later[0]), stamp: .init(epoch: 1, position: 25)),
            ChangelogRecord(.userRemoved("carol"), stamp: .init(epoch: 1, position: 25)),
            ChangelogRecord(.user(later[1]), stamp: .init(epoch: 1, position: 30)),
            ChangelogRecord(.meta(PartitionMeta(instance: "A", applied: applied)), stamp: .init(epoch: 1, position: 30)),
        ]
        let (restore, users) = Self.restore(log)
        #expect(Set(users.keys) == ["alice", "bob"])
        #expect(users["alice"]?.record == later[0] && users["alice"]?.position == 25)
        #expect(users["bob"]?.record == later[1] && users["bob"]?.position == 30)
        #expect(restore.inputPosition == 30)
        #expect(restore.meta?.meta.applied == applied)
        #expect(restore.nextEpoch == 2)
        #expect(restore.zombieRecords == 0 && restore.refusedRecords == 0)

        // What compaction leaves: the last record per key, in offset order (tombstones may stay).
        var lastIndex: [[UInt8]: Int] = [:]
        for (index, record) in log.enumerated() { lastIndex[record.key] = index }
        let compacted = log.indices.filter { lastIndex[log[$0].key] == $0 }.map { log[$0] }
        #expect(compacted.count < log.count)
        let (compactedRestore, compactedUsers) = Self.restore(compacted)
        #expect(compactedUsers.mapValues(\.record) == users.mapValues(\.record))
        #expect(compactedUsers.mapValues(\.position) == users.mapValues(\.position))
        #expect(compactedRestore.inputPosition == restore.inputPosition && compactedRestore.meta?.meta == restore.meta?.meta)
        #expect(compactedRestore.nextEpoch == restore.nextEpoch)
    }

    @Test("records of a lower epoch after a claim are a zombie's and are ignored")
    func zombieAfterClaim() throws {
        let old = Self.users(["alice", "bob"])
        let newer = Self.users(["alice"], clicks: 6, offset: 20)
        let stale = Self.users(["alice", "bob"], clicks: 2, offset: 40)
        let log: [ChangelogRecord] = [
            ChangelogRecord(.claim(instance: "A"), stamp: .init(epoch: 1, position: 0)),
            ChangelogRecord(.user(old[0]), stamp: .init(epoch: 1, position: 50)),
            ChangelogRecord(.user(old[1]), stamp: .init(epoch: 1, position: 50)),
            ChangelogRecord(.meta(PartitionMeta(instance: "A", applied: AppliedEventCounts())), stamp: .init(epoch: 1, position: 50)),
            // B takes over at 50 and writes alice; A, not yet aware, still flushes both users.
            ChangelogRecord(.claim(instance: "B"), stamp: .init(epoch: 2, position: 50)),
            ChangelogRecord(.user(newer[0]), stamp: .init(epoch: 2, position: 80)),
            ChangelogRecord(.user(stale[0]), stamp: .init(epoch: 1, position: 70)),
            ChangelogRecord(.user(stale[1]), stamp: .init(epoch: 1, position: 70)),
            ChangelogRecord(.meta(PartitionMeta(instance: "A", applied: AppliedEventCounts())), stamp: .init(epoch: 1, position: 70)),
            ChangelogRecord(.meta(PartitionMeta(instance: "B", applied: AppliedEventCounts())), stamp: .init(epoch: 2, position: 80)),
            // C takes over from B.
            ChangelogRecord(.claim(instance: "C"), stamp: .init(epoch: 3, position: 80)),
        ]
        let (restore, users) = Self.restore(log)
        #expect(restore.zombieRecords == 3)
        #expect(users["alice"]?.record == newer[0] && users["alice"]?.position == 80)
        #expect(users["bob"]?.record == old[1] && users["bob"]?.position == 50)
        #expect(restore.meta?.meta.instance == "B" && restore.inputPosition == 80)
        #expect(restore.claim?.instance == "C" && restore.nextEpoch == 4)
    }

    @Test("a crafted or foreign record is refused with a reason and never installed")
    func craftedRecords() throws {
        let alice = Self.users(["alice"])[0]
        let good = ChangelogRecord(.user(alice), stamp: .init(epoch: 1, position: 5))
        var truncated = good
        truncated.value = Array(good.value!.dropLast(3))
        var underAnotherKey = good
        underAnotherKey.key = Array("mallory".utf8)
        var negative = ChangelogRecord(.meta(PartitionMeta(instance: "A", applied: AppliedEventCounts())), stamp: .init(epoch: 1, position: 5))
        negative.stamp.position = -1
        let unknownServiceKey = ChangelogRecord(key: [0, 0x78], value: [1, 2, 3], stamp: .init(epoch: 1, position: 5))
        var wrongClaim = ChangelogRecord(.claim(instance: "B"), stamp: .init(epoch: 7, position: 5))
        wrongClaim.stamp.epoch = 9
        let garbage = ChangelogRecord(key: Array("bob".utf8), value: Array(repeating: 0xFF, count: 40), stamp: .init(epoch: 1, position: 5))
        for record in [truncated, underAnotherKey, negative, unknownServiceKey, wrongClaim, garbage] {
            #expect(throws: StateReadError.self) { try record.entry(dimension: Self.dimension) }
        }
        #expect(throws: StateReadError.self) { try good.entry(dimension: Self.dimension + 1) }

        let (restore, users) = Self.restore([negative, unknownServiceKey, wrongClaim, truncated, underAnotherKey, garbage])
        #expect(users.isEmpty)
        #expect(restore.refusedRecords == 6, "\(restore.firstRefusal ?? "")")
        #expect(restore.meta == nil && restore.claim == nil)
    }

    @Test("a user record over the size cap is cut down, least needed entries first, and still restores")
    func recordsAreCapped() throws {
        let big = SampleUsers.records(["heavy"], clicks: 400)[0]
        let small = SampleUsers.records(["light"], clicks: 2)[0]
        let cap = 4_000
        #expect(big.encode().count > cap && small.encode().count < cap)
        let (cut, removed) = try #require(big.capped(toBytes: cap))
        #expect(cut.encode().count <= cap && removed > 0)
        #expect(cut.parameters == big.parameters && cut.user == big.user)
        #expect(cut.recentPositives.isEmpty && cut.pendingPositives.isEmpty, "positives go before clicked items")
        #expect(!cut.clickedItems.isEmpty && Set(cut.clickedItems).isSubset(of: big.clickedItems))
        #expect(small.capped(toBytes: cap)?.record == small && small.capped(toBytes: cap)?.removed == 0)
        #expect(big.capped(toBytes: 100) == nil)

        // Through a flush: the record written fits, and the restore installs it.
        var configuration = RecommenderConfiguration()
        configuration.model.dimension = Self.dimension
        let recommender = OnlineRecommender(configuration: configuration)
        recommender.importUsers([big, small])
        let log = InMemoryChangelog()
        let handover = PartitionHandover(instance: "A", log: log, dimension: Self.dimension)
        _ = try handover.claim(partition: 0)
        handover.maxRecordBytes = cap
        try handover.flush(partition: 0, position: 9, changed: ["heavy", "light"], applied: AppliedEventCounts(), recommender: recommender)
        #expect(handover.trimmedEntries == removed && handover.usersNotWritten == 0)
        #expect(log.partitions[0]!.allSatisfy { ($0.value?.count ?? 0) <= cap })
        let (_, users) = Self.restore(log.partitions[0]!)
        #expect(users["heavy"]?.record.clickedItems.count == cut.clickedItems.count)
        #expect(users["light"]?.record == small)
    }
}
