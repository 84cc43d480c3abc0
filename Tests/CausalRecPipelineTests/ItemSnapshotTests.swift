import CausalRecCore
@testable import CausalRecPipeline
import CausalRecTestSupport
import Foundation
import Logging
import Testing

/// Snapshots of the shared items: a new instance that starts from the latest one and reads the
/// deltas after it holds what one reading every delta holds; a crafted or incomplete snapshot is
/// not used.
@Suite("Item snapshots")
struct ItemSnapshotTests {
    typealias Member = ScaleOutProcessorTests.Member

    @Test("a new instance starts from the latest snapshot and the deltas after it: the stream's counts, the same rows as reading every delta")
    func newInstanceStartsFromSnapshot() throws {
        let log = InMemoryChangelog()
        let deltas = InMemoryItemDeltaLog()
        let snapshots = InMemoryItemDeltaLog()
        let a = try Member("A", log: log, directory: ScaleOutProcessorTests.directory(), deltas: deltas, snapshots: snapshots)
        let b = try Member("B", log: log, directory: ScaleOutProcessorTests.directory(), deltas: deltas, snapshots: snapshots)
        _ = a.assign([0])
        _ = b.assign([1])
        for share in stride(from: 0.1, through: 1.0, by: 0.1) {
            for (member, partition) in [(a, Int32(0)), (b, Int32(1))] {
                try member.feed(partition, from: Int64(ScaleOutProcessorTests.length(partition, share - 0.1)),
                                until: ScaleOutProcessorTests.length(partition, share))
                // Each exchange a few milliseconds apart: "A" (owner of partition 0) writes a
                // snapshot at each after the first.
                Thread.sleep(forTimeInterval: 0.003)
                member.processor.syncItems()
            }
        }
        for member in [a, b, a] { member.processor.syncItems() }
        #expect(a.processor.itemSync!.lastSnapshotOffset > 0)
        #expect(!snapshots.values.isEmpty)
        // Only the owner of partition 0 writes them.
        #expect(b.processor.itemSync!.lastSnapshotOffset == -1)

        let fresh = try Member("C", log: log, directory: ScaleOutProcessorTests.directory(), deltas: deltas, snapshots: snapshots)
        fresh.processor.catchUpItems()
        let installed = try #require(fresh.processor.itemSync!.installedSnapshotOffset)
        #expect(installed > 0 && installed <= Int64(deltas.values.count))
        let everyDelta = try Member("D", log: log, directory: ScaleOutProcessorTests.directory(), deltas: deltas)
        everyDelta.processor.catchUpItems()
        #expect(everyDelta.processor.itemSync!.installedSnapshotOffset == nil)
        for member in [fresh, everyDelta] { ScaleOutProcessorTests.checkItemCounts(owner: member) }
        #expect(Self.largestRowDifference(fresh, a) < 1e-5)
        #expect(Self.largestRowDifference(fresh, everyDelta) < 1e-5)
    }

    @Test("a crafted, foreign or incomplete snapshot is refused, and the reader falls back to an older complete one")
    func craftedSnapshotsRefused() throws {
        let item = SharedItemState(item: "i1", clicks: 3, exposure: 1.5, bias: 0.25, embedding: [Float](repeating: 0.5, count: 8))
        var state = ItemSyncState()
        state.logOffset = 10
        state.applied = ["a": 4]
        let older = ItemSnapshot(writer: "a", number: 10, sync: state, modelVersion: 7, exposureTime: 1_000, impressionsSeen: false, items: [item])
        state.logOffset = 20
        let newer = ItemSnapshot(writer: "a", number: 20, sync: state, modelVersion: 9, exposureTime: 2_000, impressionsSeen: true,
                                 items: (0..<15_000).map { SharedItemState(item: "i\($0)", clicks: 1, exposure: 1, bias: 0, embedding: item.embedding) })
        let newerParts = newer.encode()
        #expect(newerParts.count > 1)
        let decode = { (bytes: [UInt8]) in try ItemSnapshot.Part(decoding: bytes, dimension: 8) }
        // Complete: the newer one wins; without its last part, the older one.
        let all = try (older.encode() + newerParts).map(decode)
        #expect(ItemSnapshot.latest(of: all) == newer)
        let missing = try (older.encode() + newerParts.dropLast()).map(decode)
        #expect(ItemSnapshot.latest(of: missing) == older)
        // Crafted bytes: each refused with a reason.
        var truncated = older.encode()[0]
        truncated.removeLast(5)
        #expect(throws: StateReadError.self) { try decode(truncated) }
        #expect(throws: StateReadError.self) { try ItemSnapshot.Part(decoding: older.encode()[0], dimension: 16) }
        #expect(throws: StateReadError.self) { try decode(Array("not a snapshot at all".utf8)) }
        var negative = older
        negative.items[0].clicks = -1
        #expect(throws: StateReadError.self) { try decode(negative.encode()[0]) }
    }

    @Test("a snapshot says whether its writer had seen an impression, and installing it tells the new instance; format 1 is read as not saying so")
    func impressionsSeenInSnapshots() throws {
        let item = SharedItemState(item: "i1", clicks: 3, exposure: 1.5, bias: 0.25, embedding: [Float](repeating: 0.5, count: 8))
        var state = ItemSyncState()
        state.logOffset = 10
        var snapshot = ItemSnapshot(writer: "a", number: 10, sync: state, modelVersion: 7, exposureTime: 1_000, impressionsSeen: true, items: [item])
        let decoded = try #require(ItemSnapshot.latest(of: snapshot.encode().map { try ItemSnapshot.Part(decoding: $0, dimension: 8) }))
        #expect(decoded == snapshot)
        let recommender = ItemSyncTests.recommender()
        let sync = ItemSync(instance: "b", log: InMemoryItemDeltaLog(), dimension: 8, logger: Logger(label: "test"))
        sync.install(decoded, into: recommender)
        #expect(recommender.sharedItemStates().impressionsSeen)
        // The layout of format 1, written out as a writer of that build wrote it.
        func formatOneLayout(version: Int) -> [UInt8] {
            var writer = StateWriter(reservingCapacity: 512)
            writer.beginSection("ISNP")
            writer.write(version)
            writer.write(snapshot.writer)
            writer.write(snapshot.number)
            writer.write(0)
            writer.write(1)
            snapshot.sync.write(to: &writer)
            writer.write(snapshot.modelVersion)
            writer.write(snapshot.exposureTime)
            writer.write(1)
            writer.write(item.item)
            writer.write(item.clicks)
            writer.write(item.exposure)
            writer.write(item.bias)
            writer.write(item.embedding)
            writer.endSection()
            return writer.bytes
        }
        snapshot.impressionsSeen = false
        #expect(try ItemSnapshot.Part(decoding: formatOneLayout(version: 1), dimension: 8).content == snapshot)
        #expect(throws: StateReadError.self) { try ItemSnapshot.Part(decoding: formatOneLayout(version: 9), dimension: 8) }
    }

    static func largestRowDifference(_ one: Member, _ other: Member) -> Float {
        one.processor.live.withExclusiveAccess { first in
            other.processor.live.withExclusiveAccess { second in
                var largest: Float = 0
                for item in first.recommender.items.identifiers {
                    guard let row = first.recommender.itemRow(ofKnown: item), let otherRow = second.recommender.itemRow(ofKnown: item) else {
                        largest = .infinity
                        continue
                    }
                    let values = first.recommender.model.items.row(row)
                    let otherValues = second.recommender.model.items.row(otherRow)
                    for column in 0..<first.recommender.model.dimension {
                        largest = max(largest, abs(values[column] - otherValues[column]))
                    }
                    largest = max(largest, abs(first.recommender.model.itemBias[Int(row)] - second.recommender.model.itemBias[Int(otherRow)]))
                }
                return largest
            }
        }
    }
}
