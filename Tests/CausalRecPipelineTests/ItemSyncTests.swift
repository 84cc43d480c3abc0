import CausalRecCore
@testable import CausalRecPipeline
import Logging
import Testing

/// The deltas log in memory; `failNextAppends` makes appends throw after writing nothing.
final class InMemoryItemDeltaLog: ItemDeltaLog {
    private(set) var values: [[UInt8]] = []
    var failNextAppends = 0

    struct Unavailable: Error {}

    func append(_ values: [[UInt8]], key: String) throws {
        if failNextAppends > 0 {
            failNextAppends -= 1
            throw Unavailable()
        }
        self.values.append(contentsOf: values)
    }

    func read(from offset: Int64, toEnd: Bool, _ body: ([UInt8]) throws -> Void) throws -> Int64 {
        for value in values.dropFirst(Int(offset)) { try body(value) }
        return Int64(values.count)
    }
}

@Suite("Item sync over the deltas log")
struct ItemSyncTests {
    static func recommender() -> OnlineRecommender {
        var configuration = RecommenderConfiguration()
        configuration.model.dimension = 8
        configuration.model.itemInitialization = .id
        configuration.trainingBatchSize = 4
        configuration.sharesItems = true
        return OnlineRecommender(configuration: configuration)
    }

    static func clicks(_ recommender: OnlineRecommender, user: String, count: Int, from start: Int = 0) {
        for index in start..<(start + count) {
            recommender.step(.click(Click(user: user, item: "i\(index % 7)", timestamp: 1_700_000_000_000 + Int64(index))), fallbackTimestamp: 0)
        }
    }

    static func exchange(_ sync: ItemSync, _ recommender: OnlineRecommender) throws {
        let messages = try sync.read(toEnd: true)
        sync.apply(messages, to: recommender, reachedEnd: true, wallMilliseconds: 0)
    }

    /// Two recommenders "a" and "b" sharing items through one log, both caught up.
    static func twoInstances() throws -> (InMemoryItemDeltaLog, OnlineRecommender, OnlineRecommender, ItemSync, ItemSync) {
        let log = InMemoryItemDeltaLog()
        let (a, b) = (recommender(), recommender())
        let syncA = ItemSync(instance: "a", log: log, dimension: 8, logger: Logger(label: "test"))
        let syncB = ItemSync(instance: "b", log: log, dimension: 8, logger: Logger(label: "test"))
        try exchange(syncA, a)
        try exchange(syncB, b)
        return (log, a, b, syncA, syncB)
    }

    static func totalClicks(_ recommender: OnlineRecommender) -> Int {
        recommender.history.clickCounts.reduce(0) { $0 + Int($1) }
    }

    @Test("a publication that failed is sent again with its numbers: the receiver adds it once; positions decide which events count")
    func retriedPublicationAppliesOnce() throws {
        let (log, a, b, syncA, syncB) = try Self.twoInstances()
        Self.clicks(a, user: "u1", count: 30)
        syncA.take(from: a, positions: [0: 30], wallMilliseconds: 0)
        log.failNextAppends = 1
        #expect(throws: InMemoryItemDeltaLog.Unavailable.self) { try syncA.publish() }
        Self.clicks(a, user: "u1", count: 10, from: 30)
        syncA.take(from: a, positions: [0: 40], wallMilliseconds: 0)
        try syncA.publish()
        // The retry appended the first message too (once), then the second.
        #expect(log.values.count == 2)
        try Self.exchange(syncB, b)
        #expect(Self.totalClicks(b) == 40)
        // Reading the log again from the start adds nothing twice.
        let again = ItemSync(instance: "b", log: log, dimension: 8, logger: Logger(label: "test"))
        again.restore(syncB.state)
        again.apply(try log.values.map { try ItemDeltaMessage(decoding: $0, dimension: 8) }, to: b, reachedEnd: true, wallMilliseconds: 0)
        #expect(Self.totalClicks(b) == 40)
        // Partition 0's events below 40 were counted by "a"; a new owner does not count them again.
        #expect(!syncB.countsItems(partition: 0, offset: 39) && syncB.countsItems(partition: 0, offset: 40))
        #expect(syncB.countsItems(partition: 1, offset: 0))
        // Both hold the same items.
        for identifier in (0..<7).map({ "i\($0)" }) {
            let rowA = try #require(a.itemRow(ofKnown: identifier))
            let rowB = try #require(b.itemRow(ofKnown: identifier))
            #expect(a.history.clickCounts[Int(rowA)] == b.history.clickCounts[Int(rowB)])
            for (x, y) in zip(a.model.items.values(of: rowA), b.model.items.values(of: rowB)) { #expect(abs(x - y) <= 1e-6) }
        }
    }

    @Test("after a restart from a checkpoint, the instance's own messages published after it are applied, and its numbers continue")
    func restartAppliesOwnLaterMessages() throws {
        let log = InMemoryItemDeltaLog()
        let a = Self.recommender()
        let syncA = ItemSync(instance: "a", log: log, dimension: 8, logger: Logger(label: "test"))
        try Self.exchange(syncA, a)
        Self.clicks(a, user: "u1", count: 12)
        syncA.take(from: a, positions: [0: 12], wallMilliseconds: 0)
        try syncA.publish()
        let checkpoint = syncA.state
        let restarted = Self.recommender()
        Self.clicks(restarted, user: "u1", count: 12)
        _ = restarted.takeItemChanges()
        Self.clicks(a, user: "u2", count: 5, from: 12)
        syncA.take(from: a, positions: [0: 17], wallMilliseconds: 0)
        try syncA.publish()
        // The process dies; the restarted one holds the checkpoint's state and reads on.
        let syncAfter = ItemSync(instance: "a", log: log, dimension: 8, logger: Logger(label: "test"))
        syncAfter.restore(checkpoint)
        try Self.exchange(syncAfter, restarted)
        #expect(Self.totalClicks(restarted) == 17)
        #expect(syncAfter.state.applied["a"] == 2)
        #expect(!syncAfter.countsItems(partition: 0, offset: 16))
        Self.clicks(restarted, user: "u3", count: 3, from: 17)
        syncAfter.take(from: restarted, positions: [0: 20], wallMilliseconds: 0)
        try syncAfter.publish()
        #expect(try ItemDeltaMessage(decoding: log.values.last!, dimension: 8).sequence == 3)
    }

    @Test("a delta says whether its writer had seen an impression; a delta of the format before (2) is read as not saying so")
    func impressionsSeenCarried() throws {
        let delta = ItemDelta(item: "i1", source: 0, clicks: 1, exposure: 0.5)
        var message = ItemDeltaMessage(instance: "x", sequence: 1, positions: [0: 7], epochs: [0: 1], takenAtMilliseconds: 5,
                                       changes: ItemChanges(items: [delta], exposureTime: 1_000, modelVersion: 3, impressionsSeen: true))
        #expect(try ItemDeltaMessage(decoding: message.encode(), dimension: 8) == message)
        // The layout of format 2, written out here as a writer of that build wrote it.
        func formatTwoLayout(version: Int) -> [UInt8] {
            var writer = StateWriter(reservingCapacity: 256)
            writer.beginSection("IDLT")
            writer.write(version)
            writer.write(message.instance)
            writer.write(message.sequence)
            writer.write(message.takenAtMilliseconds)
            ItemSyncState.write(message.positions, to: &writer)
            ItemSyncState.write(message.epochs, to: &writer)
            writer.write(message.changes.exposureTime)
            writer.write(message.changes.modelVersion)
            writer.write(1)
            writer.write(delta.item)
            writer.write(delta.source ?? -1)
            writer.write(delta.clicks)
            writer.write(delta.exposure)
            writer.write(delta.bias)
            writer.write(delta.embedding)
            writer.endSection()
            return writer.bytes
        }
        message.changes.impressionsSeen = false
        #expect(try ItemDeltaMessage(decoding: formatTwoLayout(version: 2), dimension: 8) == message)
        // Formats this build does not know are refused.
        #expect(throws: StateReadError.self) { try ItemDeltaMessage(decoding: formatTwoLayout(version: 1), dimension: 8) }
        #expect(throws: StateReadError.self) { try ItemDeltaMessage(decoding: formatTwoLayout(version: 9), dimension: 8) }
    }

    @Test("a crafted delta is refused with a reason, and the exchange goes on")
    func craftedDeltaRefused() throws {
        var message = ItemDeltaMessage(instance: "x", sequence: 1, positions: [:], epochs: [0: 1], takenAtMilliseconds: 0,
                                       changes: ItemChanges(items: [ItemDelta(item: "i1", source: 0, clicks: 1, embedding: [1, 2])]))
        #expect(throws: StateReadError.self) { try ItemDeltaMessage(decoding: message.encode(), dimension: 8) }
        // Counts of a partition the writer names no epoch for.
        message.epochs = [:]
        message.changes.items[0].embedding = []
        #expect(throws: StateReadError.self) { try ItemDeltaMessage(decoding: message.encode(), dimension: 8) }
        message.epochs = [0: 1]
        message.changes.items[0].embedding = []
        message.changes.items[0].exposure = -.infinity
        #expect(throws: StateReadError.self) { try ItemDeltaMessage(decoding: message.encode(), dimension: 8) }
        let log = InMemoryItemDeltaLog()
        try log.append([Array("not a delta".utf8), message.encode()], key: "x")
        message.changes.items[0].exposure = 2
        try log.append([message.encode()], key: "x")
        let sync = ItemSync(instance: "a", log: log, dimension: 8, logger: Logger(label: "test"))
        let recommender = Self.recommender()
        try Self.exchange(sync, recommender)
        #expect(sync.refusedMessages == 2)
        #expect(sync.fencedDeltas == 0)
        #expect(Self.totalClicks(recommender) == 1)
    }

    @Test("counts an old owner publishes after a new owner's claim are refused by everyone, and taken back by the old owner")
    func zombieCountsFenced() throws {
        let (_, a, b, syncA, syncB) = try Self.twoInstances()
        func click(_ recommender: OnlineRecommender, _ user: String, _ index: Int, partition: Int32) {
            recommender.step(.click(Click(user: user, item: "i\(index % 7)", timestamp: 1_700_000_000_000 + Int64(index))), fallbackTimestamp: 0,
                             source: partition)
        }
        // "a" owns partitions 0 and 1 under epoch 1 and publishes 10 clicks of each.
        syncA.claim(0, epoch: 1, wallMilliseconds: 0)
        syncA.claim(1, epoch: 1, wallMilliseconds: 0)
        for index in 0..<10 {
            click(a, "u0", index, partition: 0)
            click(a, "u1", index, partition: 1)
        }
        syncA.take(from: a, positions: [0: 10, 1: 10], wallMilliseconds: 0)
        try syncA.publish()
        // "b" claims partition 1 (epoch 2) and reads everything before its claim.
        syncB.claim(1, epoch: 2, wallMilliseconds: 0)
        try syncB.publish()
        try Self.exchange(syncB, b)
        #expect(Self.totalClicks(b) == 20 && !syncB.countsItems(partition: 1, offset: 9) && syncB.countsItems(partition: 1, offset: 10))
        // "a" has not noticed: it counts 5 more of each partition and publishes them in one message.
        for index in 10..<15 {
            click(a, "u0", index, partition: 0)
            click(a, "u1", index, partition: 1)
        }
        syncA.take(from: a, positions: [0: 15, 1: 15], wallMilliseconds: 0)
        try syncA.publish()
        // "b" counts partition 1's events from 10 on itself (7 of them) and publishes.
        for index in 10..<17 { click(b, "u1", index, partition: 1) }
        syncB.take(from: b, positions: [1: 17], wallMilliseconds: 0)
        try syncB.publish()
        try Self.exchange(syncA, a)
        try Self.exchange(syncB, b)
        // Partition 0: 15 clicks (all "a"'s); partition 1: 10 by "a" before the claim, 7 by "b".
        #expect(Self.totalClicks(b) == 32, "b: \(Self.totalClicks(b))")
        #expect(Self.totalClicks(a) == 32, "a: \(Self.totalClicks(a))")
        #expect(syncA.fencedDeltas > 0 && syncB.fencedDeltas == syncA.fencedDeltas)
        #expect(syncB.countsItems(partition: 1, offset: 17) && !syncB.countsItems(partition: 1, offset: 16))
        #expect(!syncB.countsItems(partition: 0, offset: 14) && syncB.countsItems(partition: 0, offset: 15))
        for identifier in (0..<7).map({ "i\($0)" }) {
            let rowA = try #require(a.itemRow(ofKnown: identifier))
            let rowB = try #require(b.itemRow(ofKnown: identifier))
            #expect(a.history.clickCounts[Int(rowA)] == b.history.clickCounts[Int(rowB)])
        }
    }
}
