import CausalRecCore
@testable import CausalRecPipeline
import CausalRecTestSupport
import Foundation
import Testing

/// Owners killed at every step of a flush and between random batches, over 12 seeds: whoever
/// continues a partition — the other instance, or the same one restarted from its checkpoint
/// directory — ends with every user holding each of the stream's clicks exactly once, the
/// partition's applied count equal to its valid messages, and every item's click count equal to
/// the stream's on every instance (items are shared through the deltas log, exchanged at random
/// points, while the other instance goes on with partitions of its own).
@Suite("Owners killed at any point of the flush order")
struct ScaleOutCrashTests {
    typealias Member = ScaleOutProcessorTests.Member

    /// Where the owner dies.
    enum KillPoint: CaseIterable {
        /// Between two batches, some events after its last checkpoint.
        case betweenBatches
        /// During the changelog write of a checkpoint: some of its records are in the log.
        case duringChangelogWrite
        /// After the changelog write, before the local checkpoint file.
        case beforeLocalFile
    }

    /// Reads every partition up to `share` of it, in batches of random size.
    static func feed(_ member: Member, starts: [Int32: Int64], until share: Double, random: inout SplitMix64) throws -> [Int32: Int64] {
        var positions = starts
        for partition in positions.keys.sorted() {
            let end = member.stream.length(partition, share)
            while positions[partition]! < Int64(end) {
                let next = min(end, Int(positions[partition]!) + 1 + Int(random.next() % 400))
                try member.feed(partition, from: positions[partition]!, until: next)
                positions[partition] = Int64(next)
                // The periodic exchange at random points: item counts get published ahead of the
                // users' changelog, so a next owner re-reads events whose counts are published.
                if random.next() % 3 == 0 { member.processor.syncItems() }
            }
        }
        return positions
    }

    /// A share of the stream between `low` and `low + 0.3`.
    static func share(from low: Double, _ random: inout SplitMix64) -> Double { low + Double(random.next() % 30) / 100 }

    @Test("two instances, four partitions, 12 seeds × each kill point × the next owner being the other instance or the same one restarted",
          arguments: Array(1...12))
    func killedOwner(seed: Int) throws {
        let stream = PartitionedStream.four
        for point in KillPoint.allCases {
            for restartSameInstance in [false, true] {
                var random = SplitMix64(seed: UInt64(seed * 31 + (restartSameInstance ? 7 : 0)))
                let log = InMemoryChangelog()
                let deltas = InMemoryItemDeltaLog()
                let directory = ScaleOutProcessorTests.directory()
                var owner: Member? = try Member("A", log: log, directory: directory, deltas: deltas, stream: stream)
                // "B" owns the other two partitions all along and reads them beside "A".
                let other = try Member("B", log: log, directory: ScaleOutProcessorTests.directory(), deltas: deltas, stream: stream)
                var positions = try Self.feed(owner!, starts: owner!.assign([0, 1]), until: Self.share(from: 0.2, &random), random: &random)
                var otherPositions = try Self.feed(other, starts: other.assign([2, 3]), until: Self.share(from: 0.2, &random), random: &random)
                try owner!.checkpoint()
                otherPositions = try Self.feed(other, starts: otherPositions, until: Self.share(from: 0.5, &random), random: &random)
                if random.next() % 2 == 0 { try other.checkpoint() }
                positions = try Self.feed(owner!, starts: positions, until: Self.share(from: 0.55, &random), random: &random)
                switch point {
                case .betweenBatches:
                    break
                case .duringChangelogWrite:
                    log.crashAfter = Int(random.next() % 40)
                    _ = try owner!.checkpointer.write(owner!.processor, messages: owner!.counters.messages.load(ordering: .relaxed),
                                                      flushTimeout: .seconds(1))
                case .beforeLocalFile:
                    // The changelog write completes; the process dies before the local file is
                    // in place, so the file the write made is taken away again.
                    let before = log.partitions.values.reduce(0) { $0 + $1.count }
                    #expect(try owner!.checkpointer.write(owner!.processor, messages: owner!.counters.messages.load(ordering: .relaxed),
                                                          flushTimeout: .seconds(1)))
                    #expect(log.partitions.values.reduce(0) { $0 + $1.count } > before)
                    let files = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".ckpt") }.sorted()
                    if let newest = files.last { try FileManager.default.removeItem(atPath: directory + "/" + newest) }
                }
                log.crashAfter = nil
                owner = nil // killed: nothing more of it runs
                otherPositions = try Self.feed(other, starts: otherPositions, until: Self.share(from: 0.7, &random), random: &random)
                let next = restartSameInstance
                    ? try Member("A", log: log, directory: directory, deltas: deltas, stream: stream)
                    : other
                if restartSameInstance { _ = try next.checkpointer.restore(into: next.processor) }
                let starts = next.assign([0, 1])
                _ = try Self.feed(next, starts: starts, until: 1, random: &random)
                _ = try Self.feed(other, starts: otherPositions, until: 1, random: &random)
                let members = restartSameInstance ? [next, other] : [other]
                // A last exchange round, so that each holds what the others counted.
                for member in members + members { member.processor.syncItems() }
                for partition in stream.partitions { ScaleOutProcessorTests.check(partition, owner: partition < 2 ? next : other) }
                for member in members { ScaleOutProcessorTests.checkItemCounts(owner: member) }
            }
        }
    }

    @Test("a zombie: the old owner goes on processing and publishing a partition another instance claimed, beside one it still owns",
          arguments: Array(1...6))
    func zombieGoesOn(seed: Int) throws {
        var random = SplitMix64(seed: UInt64(seed * 131))
        let log = InMemoryChangelog()
        let deltas = InMemoryItemDeltaLog()
        let a = try Member("A", log: log, directory: ScaleOutProcessorTests.directory(), deltas: deltas)
        var positionsA = try Self.feed(a, starts: a.assign([0, 1]), until: 0.2 + Double(random.next() % 30) / 100, random: &random)
        try a.checkpoint()
        positionsA = try Self.feed(a, starts: positionsA, until: 0.5 + Double(random.next() % 10) / 100, random: &random)
        // "B" claims partition 1; "A" is never told and goes on with both partitions.
        let b = try Member("B", log: log, directory: ScaleOutProcessorTests.directory(), deltas: deltas)
        var positionB = b.assign([1])[1]!
        let endA = [Int32(0): ScaleOutProcessorTests.messages[0]!.count, 1: ScaleOutProcessorTests.length(1, 0.8)]
        let endB = ScaleOutProcessorTests.messages[1]!.count
        // The zombie runs ahead of the new owner first: its counts of those events are published
        // after the claim (and must be refused), not skipped as already published by "B".
        let ahead = min(endA[1]!, Int(positionsA[1]!) + 200)
        try a.feed(1, from: positionsA[1]!, until: ahead)
        positionsA[1] = Int64(ahead)
        a.processor.syncItems()
        while positionsA.contains(where: { Int($0.value) < endA[$0.key]! }) || Int(positionB) < endB {
            let step = 1 + Int(random.next() % 300)
            switch random.next() % 4 {
            case 0 where Int(positionB) < endB:
                let next = min(endB, Int(positionB) + step)
                try b.feed(1, from: positionB, until: next)
                positionB = Int64(next)
            case 1:
                b.processor.syncItems()
            case 2:
                a.processor.syncItems()
                if random.next() % 4 == 0 { try a.checkpoint() }
            default:
                guard let partition = positionsA.keys.sorted().first(where: { Int(positionsA[$0]!) < endA[$0]! }) else { continue }
                let next = min(endA[partition]!, Int(positionsA[partition]!) + step)
                try a.feed(partition, from: positionsA[partition]!, until: next)
                positionsA[partition] = Int64(next)
            }
        }
        for member in [a, b, a] { member.processor.syncItems() }
        ScaleOutProcessorTests.check(0, owner: a)
        ScaleOutProcessorTests.check(1, owner: b)
        // Both hold the stream's item counts: what "A" counted of partition 1 after the claim was
        // refused everywhere and taken back by "A" itself.
        ScaleOutProcessorTests.checkItemCounts(owner: b)
        ScaleOutProcessorTests.checkItemCounts(owner: a)
        #expect(a.processor.itemSync!.fencedDeltas > 0)
    }
}
