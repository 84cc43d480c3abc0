import CausalRecCore
@testable import CausalRecPipeline
import Testing

/// A changelog that is a list per partition: appends are acknowledged at once, reads go to the end.
/// `crashAfter` makes an append stop after that many more records and throw, as a writer killed in
/// the middle of a flush would leave the log.
final class InMemoryChangelog: ChangelogLog {
    struct Crash: Error {}

    private(set) var partitions: [Int32: [ChangelogRecord]] = [:]
    var crashAfter: Int?

    func append(_ records: [ChangelogRecord], partition: Int32) throws {
        for record in records {
            if let remaining = crashAfter {
                guard remaining > 0 else { throw Crash() }
                crashAfter = remaining - 1
            }
            partitions[partition, default: []].append(record)
        }
    }

    @discardableResult
    func read(partition: Int32, from offset: Int64, _ body: (ChangelogRecord) throws -> Void) throws -> Int64 {
        let records = partitions[partition] ?? []
        for record in records.dropFirst(Int(offset)) { try body(record) }
        return Int64(records.count)
    }

    /// A crash between a flush's user records and its meta record: the meta record never arrived.
    func dropLast(partition: Int32) {
        partitions[partition]!.removeLast()
    }
}

/// Instances that hand input partitions over through the changelog, driven by hand: which
/// partitions each owns, how far it reads, when it flushes, when it dies.
@Suite("Partitions handed over through the users' changelog")
struct PartitionHandoverTests {
    static let partitions: Int32 = 2
    static let dimension = 8

    /// A stream split by user into two partitions, as a keyed producer would.
    static let stream = makeStream(partitions: partitions)

    /// 6,000 simulator events split by user into `partitions` partitions.
    static func makeStream(partitions: Int32) -> [Int32: [Event]] {
        var configuration = SimulatorConfiguration()
        configuration.users = 150
        configuration.items = 300
        configuration.seed = 21
        var simulator = ClickSimulator(configuration: configuration)
        var byPartition: [Int32: [Event]] = [:]
        for _ in 0..<6_000 {
            let event = simulator.next()
            byPartition[Int32(StableKey.of(event.user) % UInt64(partitions)), default: []].append(event)
        }
        return byPartition
    }

    static func partition(of user: String) -> Int32 { Int32(StableKey.of(user) % UInt64(partitions)) }

    final class Instance {
        let recommender: OnlineRecommender
        let handover: PartitionHandover
        var ledger = PartitionLedger()
        var positions: [Int32: Int64] = [:]

        init(_ name: String, log: InMemoryChangelog) {
            var configuration = RecommenderConfiguration()
            configuration.model.dimension = PartitionHandoverTests.dimension
            configuration.model.itemInitialization = .id
            configuration.trainingBatchSize = 16
            recommender = OnlineRecommender(configuration: configuration)
            handover = PartitionHandover(instance: name, log: log, dimension: PartitionHandoverTests.dimension)
        }

        /// Restores `partition` from the changelog and starts it at the restored position (the
        /// group's committed offset, here the start, when it was never flushed).
        func take(_ partition: Int32) throws -> RestoredPartition {
            let restored = try handover.claim(partition: partition)
            recommender.releaseUsers(PartitionHandoverTests.users(of: partition))
            recommender.importUsers(restored.users.map(\.record))
            let start = restored.inputPosition ?? 0
            ledger.restored(partition, applied: restored.applied,
                            userPositions: Dictionary(uniqueKeysWithValues: restored.users.map { ($0.record.user, $0.position) }),
                            inputPosition: start)
            positions[partition] = start
            return restored
        }

        /// Reads `partition` up to (not including) offset `end`.
        func process(_ partition: Int32, until end: Int) {
            let events = PartitionHandoverTests.stream[partition]!
            var offset = positions[partition]!
            while offset < Int64(end) {
                let event = events[Int(offset)]
                let isNew = ledger.isNew(user: event.user, partition: partition, offset: offset)
                if isNew { recommender.step(event, fallbackTimestamp: 0) }
                ledger.note(EventStep.Kind(event), user: event.user, partition: partition, changedUser: isNew)
                offset += 1
            }
            positions[partition] = offset
        }

        /// Takes every partition, reads each up to `share` of it and flushes them all.
        func ownEverything(flushedAt share: Double) throws {
            for partition in 0..<PartitionHandoverTests.partitions { _ = try take(partition) }
            for partition in 0..<PartitionHandoverTests.partitions {
                process(partition, until: PartitionHandoverTests.length(partition, share))
                try flush(partition)
            }
        }

        func flush(_ partition: Int32) throws {
            try handover.flush(partition: partition, position: positions[partition]!, changed: ledger.takeChangedUsers(of: partition),
                               applied: ledger.applied[partition] ?? AppliedEventCounts(), recommender: recommender)
        }

        /// A clean revoke: flush, then let the users go.
        func giveAway(_ partition: Int32) throws {
            try flush(partition)
            recommender.releaseUsers(PartitionHandoverTests.users(of: partition))
            ledger.released(partition)
            handover.release(partition: partition)
            positions[partition] = nil
        }

    }

    static func users(of partition: Int32) -> [String] {
        Array(Set(stream[partition]!.map(\.user))).sorted()
    }

    static func length(_ partition: Int32, _ share: Double) -> Int {
        Int(Double(stream[partition]!.count) * share)
    }

    /// Every user of `partition` has exactly the clicks the stream gave them, in `owner`: the same
    /// clicked set, and each click once among the user's training positives (the replay ring
    /// holds them all here), so a click applied twice or lost shows; and the partition's applied
    /// count is its length.
    static func check(_ partition: Int32, owner: Instance) {
        var clicks: [String: [String]] = [:]
        for case let .click(click) in stream[partition]! { clicks[click.user, default: []].append(click.item) }
        let records = Dictionary(uniqueKeysWithValues: owner.recommender.exportUsers(users(of: partition)).map { ($0.user, $0) })
        var setMismatches = 0
        var positiveMismatches = 0
        for (user, items) in clicks {
            let record = records[user]
            if Set(record?.clickedItems ?? []) != Set(items) { setMismatches += 1 }
            let positives = ((record?.pendingPositives ?? []) + (record?.recentPositives ?? [])).map(\.item)
            if positives.sorted() != items.sorted() { positiveMismatches += 1 }
        }
        #expect(setMismatches == 0, "partition \(partition): \(setMismatches) of \(clicks.count) users' click sets differ from the stream's")
        #expect(positiveMismatches == 0, "partition \(partition): \(positiveMismatches) of \(clicks.count) users' clicks were applied other than once")
        let applied = owner.ledger.applied[partition] ?? AppliedEventCounts()
        #expect(applied.total + applied.forgets == stream[partition]!.count)
    }

    @Test("a clean revoke: the new owner continues where the flush left the partition")
    func cleanRevoke() throws {
        let log = InMemoryChangelog()
        let a = Instance("A", log: log)
        let b = Instance("B", log: log)
        try a.ownEverything(flushedAt: 0.6)
        a.process(1, until: Self.length(1, 0.7))
        try a.giveAway(1)
        let restored = try b.take(1)
        #expect(restored.inputPosition == Int64(Self.length(1, 0.7)) && restored.epoch == 2 && !restored.users.isEmpty)
        a.process(0, until: Self.stream[0]!.count)
        b.process(1, until: Self.stream[1]!.count)
        Self.check(0, owner: a)
        Self.check(1, owner: b)
        #expect(a.recommender.exportUsers(Self.users(of: 1)).isEmpty)
    }

    @Test("the owner dies after unflushed events: the new owner reads them again from the last flush, once")
    func ownerDies() throws {
        let log = InMemoryChangelog()
        let a = Instance("A", log: log)
        try a.ownEverything(flushedAt: 0.6)
        for partition in 0..<Self.partitions { a.process(partition, until: Self.length(partition, 0.75)) }
        let restored = try Self.takeOverAndFinish(log)
        #expect(restored.allSatisfy { $0.value.inputPosition == Int64(Self.length($0.key, 0.6)) })
    }

    /// A new instance takes every partition over, reads each to its end and is checked; returns
    /// what each claim restored.
    static func takeOverAndFinish(_ log: InMemoryChangelog) throws -> [Int32: RestoredPartition] {
        let next = Instance("B", log: log)
        var restored: [Int32: RestoredPartition] = [:]
        for partition in 0..<partitions {
            restored[partition] = try next.take(partition)
            next.process(partition, until: stream[partition]!.count)
            check(partition, owner: next)
        }
        return restored
    }

    @Test("the owner dies between a flush's user records and its meta record: those users skip what they already hold")
    func cutFlush() throws {
        let log = InMemoryChangelog()
        let a = Instance("A", log: log)
        try a.ownEverything(flushedAt: 0.5)
        a.process(1, until: Self.length(1, 0.7))
        try a.flush(1)
        log.dropLast(partition: 1)
        let restored = try Self.takeOverAndFinish(log)
        #expect(restored.allSatisfy { $0.value.inputPosition == Int64(Self.length($0.key, 0.5)) })
        #expect(restored[1]!.users.contains { $0.position == Int64(Self.length(1, 0.7)) })
    }

    @Test("an owner that has not noticed it lost a partition keeps flushing it: the next owner ignores what it wrote")
    func zombie() throws {
        let log = InMemoryChangelog()
        let a = Instance("A", log: log)
        let b = Instance("B", log: log)
        try a.ownEverything(flushedAt: 0.5)
        // B takes partition 1 while A, paused, still believes it owns it.
        _ = try b.take(1)
        b.process(1, until: Self.length(1, 0.8))
        try b.flush(1)
        // A wakes up, gives back an idle user of partition 1 and flushes the partition: a
        // tombstone and a meta record at its old position, both after B's claim.
        let evicted = try #require(Self.stream[1]![Self.length(1, 0.5)..<Self.length(1, 0.8)].first { event in
            if case .click = event { return true } else { return false }
        }?.user)
        a.recommender.releaseUsers([evicted])
        a.ledger.markChanged(user: evicted, partition: 1)
        try a.flush(1)
        // B dies; C takes partition 1 over and must continue from B's flush, not A's.
        let c = Instance("C", log: log)
        let restored = try c.take(1)
        #expect(restored.inputPosition == Int64(Self.length(1, 0.8)))
        #expect(restored.zombieRecords == 2 && restored.epoch == 3)
        #expect(restored.users.contains { $0.record.user == evicted })
        c.process(1, until: Self.stream[1]!.count)
        a.process(0, until: Self.stream[0]!.count)
        Self.check(0, owner: a)
        Self.check(1, owner: c)
    }
}
