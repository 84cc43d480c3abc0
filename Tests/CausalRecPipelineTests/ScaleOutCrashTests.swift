import CausalRecCore
@testable import CausalRecPipeline
import CausalRecTestSupport
import Foundation
import Testing

/// Owners killed at every step of a flush and between random batches, over 12 seeds: whoever
/// continues a partition — another instance, or the same one restarted from its checkpoint
/// directory — ends with every user holding each of the stream's clicks exactly once, the
/// partition's applied count equal to its valid messages, and every item's click count equal to
/// the stream's (items are shared through the deltas log, exchanged at random points).
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
            let end = ScaleOutProcessorTests.length(partition, share)
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

    @Test("12 seeds × each kill point × the next owner being another instance or the same one restarted",
          arguments: Array(1...12))
    func killedOwner(seed: Int) throws {
        for point in KillPoint.allCases {
            for restartSameInstance in [false, true] {
                var random = SplitMix64(seed: UInt64(seed * 31 + (restartSameInstance ? 7 : 0)))
                let log = InMemoryChangelog()
                let deltas = InMemoryItemDeltaLog()
                let directory = ScaleOutProcessorTests.directory()
                var owner: Member? = try Member("A", log: log, directory: directory, deltas: deltas)
                var positions = try Self.feed(owner!, starts: owner!.assign([0, 1]), until: 0.2 + Double(random.next() % 30) / 100, random: &random)
                try owner!.checkpoint()
                positions = try Self.feed(owner!, starts: positions, until: 0.55 + Double(random.next() % 30) / 100, random: &random)
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
                let next = try Member(restartSameInstance ? "A" : "B", log: log,
                                      directory: restartSameInstance ? directory : ScaleOutProcessorTests.directory(), deltas: deltas)
                if restartSameInstance { _ = try next.checkpointer.restore(into: next.processor) }
                let starts = next.assign([0, 1])
                for partition: Int32 in [0, 1] {
                    try next.feed(partition, from: starts[partition]!, until: ScaleOutProcessorTests.messages[partition]!.count)
                    ScaleOutProcessorTests.check(partition, owner: next)
                }
                ScaleOutProcessorTests.checkItemCounts(owner: next)
            }
        }
    }
}
