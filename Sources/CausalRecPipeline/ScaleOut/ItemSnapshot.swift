import CausalRecCore

/// Every shared item as the deltas log up to `sync.logOffset` makes it, with the exchange's state
/// at that offset: a new instance installs the latest snapshot and reads the log on from there,
/// instead of from its beginning (README.md, "Several instances").
///
/// On the snapshots topic a snapshot is a run of parts, each below the brokers' default message
/// size and keyed by its index (a compacted topic keeps the latest value of each index). Every part
/// names the snapshot (writer and number) and the part count, so a reader keeps a snapshot only
/// when all its parts are there; decoding refuses a crafted or foreign value with a reason.
struct ItemSnapshot: Sendable, Equatable {
    /// The instance that wrote it, and its own number for it (its latest delta number).
    var writer: String
    var number: Int64
    /// Where the log was read to, what had been applied by then, the positions and claims.
    var sync: ItemSyncState
    var modelVersion: Int64
    var exposureTime: Int64
    /// Whether the writer had applied an impression (`ItemChanges.impressionsSeen`).
    var impressionsSeen: Bool
    var items: [SharedItemState]

    /// Format 2 added `impressionsSeen`; parts of format 1 are read with it false.
    static let formatVersion = 2

    /// The key of part `index` on the compacted topic.
    static func key(part index: Int) -> String { "snapshot-part-\(index)" }

    /// The bytes one item takes in a part (an upper bound).
    static func encodedSize(of item: SharedItemState) -> Int {
        item.item.utf8.count + 40 + 4 * item.embedding.count
    }

    /// The snapshot's parts, in order.
    func encode() -> [[UInt8]] {
        var chunks: [[SharedItemState]] = [[]]
        var bytes = 0
        for item in items {
            let size = Self.encodedSize(of: item)
            if bytes + size > ItemDeltaMessage.maximumBytes - 8_192 && !chunks[chunks.count - 1].isEmpty {
                chunks.append([])
                bytes = 0
            }
            chunks[chunks.count - 1].append(item)
            bytes += size
        }
        return chunks.enumerated().map { index, chunk in
            var writer = StateWriter(reservingCapacity: 4_096 + chunk.reduce(0) { $0 + Self.encodedSize(of: $1) })
            writer.beginSection("ISNP")
            writer.write(Self.formatVersion)
            writer.write(self.writer)
            writer.write(number)
            writer.write(index)
            writer.write(chunks.count)
            sync.write(to: &writer)
            writer.write(modelVersion)
            writer.write(exposureTime)
            writer.write(impressionsSeen)
            writer.write(chunk.count)
            for item in chunk {
                writer.write(item.item)
                writer.write(item.clicks)
                writer.write(item.exposure)
                writer.write(item.bias)
                writer.write(item.embedding)
            }
            writer.endSection()
            return writer.bytes
        }
    }

    /// One decoded part: its place among the snapshot's parts, and the snapshot with the part's items.
    struct Part: Equatable {
        var index: Int
        var count: Int
        var content: ItemSnapshot

        init(decoding bytes: [UInt8], dimension: Int) throws {
            var reader = StateReader(bytes)
            try reader.beginSection("ISNP")
            let version = try reader.readInt()
            guard (1...ItemSnapshot.formatVersion).contains(version) else {
                throw StateReadError("an item snapshot of format \(version); this build reads 1 to \(ItemSnapshot.formatVersion)")
            }
            let writer = try reader.readString()
            let number = try reader.readInt64()
            index = try reader.readInt()
            count = try reader.readInt()
            guard !writer.isEmpty, number >= 0, count > 0, count <= 1_000_000, (0..<count).contains(index) else {
                throw StateReadError("an item snapshot part \(index) of \(count), number \(number) of '\(writer)'")
            }
            let sync = try ItemSyncState.read(from: &reader)
            let modelVersion = try reader.readInt64()
            let exposureTime = try reader.readInt64()
            let impressionsSeen = version >= 2 ? try reader.readBool() : false
            guard modelVersion >= 0 else { throw StateReadError("an item snapshot with model version \(modelVersion)") }
            let itemCount = try reader.readCount(elementSize: 24, "snapshot items")
            var items: [SharedItemState] = []
            items.reserveCapacity(itemCount)
            for _ in 0..<itemCount {
                let item = try reader.readString()
                guard !item.isEmpty, item.utf8.first != 0 else { throw StateReadError("a snapshot item with an empty or reserved id") }
                let clicks = try reader.readInt32()
                let exposure = try reader.readFiniteDouble("the exposure of item \(item)")
                let bias = try reader.readFiniteFloat("the bias of item \(item)")
                let embedding = try reader.readFloatArray()
                guard clicks >= 0, exposure >= 0, embedding.count == dimension, embedding.allSatisfy(\.isFinite) else {
                    throw StateReadError("snapshot item \(item) has \(clicks) clicks, exposure \(exposure) and \(embedding.count) values (dimension \(dimension), finite)")
                }
                items.append(SharedItemState(item: item, clicks: clicks, exposure: exposure, bias: bias, embedding: embedding))
            }
            try reader.endSection()
            guard reader.isAtEnd else { throw StateReadError("\(reader.remaining) bytes after an item snapshot part") }
            content = ItemSnapshot(writer: writer, number: number, sync: sync, modelVersion: modelVersion, exposureTime: exposureTime,
                                   impressionsSeen: impressionsSeen, items: items)
        }
    }

    /// The complete snapshot reaching furthest into the deltas log among `parts` (the latest value
    /// of each key), nil when none is complete.
    static func latest(of parts: [Part]) -> ItemSnapshot? {
        var groups: [String: [Part]] = [:]
        for part in parts { groups["\(part.content.writer)#\(part.content.number)", default: []].append(part) }
        var best: ItemSnapshot?
        for group in groups.values {
            let first = group[0]
            var whole = first.content
            whole.items = []
            let byIndex = Dictionary(group.map { ($0.index, $0) }) { a, _ in a }
            // Complete, and every part from the same snapshot (the same header apart from the items).
            guard byIndex.count == first.count, group.allSatisfy({ part in
                var header = part.content
                header.items = []
                return part.count == first.count && header == whole
            }) else { continue }
            guard best.map({ whole.sync.logOffset > $0.sync.logOffset }) ?? true else { continue }
            whole.items = (0..<first.count).flatMap { byIndex[$0]!.content.items }
            best = whole
        }
        return best
    }
}
