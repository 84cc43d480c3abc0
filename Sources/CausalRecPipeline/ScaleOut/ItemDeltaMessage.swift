import CausalRecCore

/// One publication of an instance's item changes on the deltas topic: who wrote it, its place in
/// that instance's sequence (receivers apply each (instance, sequence) once), the writer's
/// ownership epoch of every input partition whose counts it carries (or claims), the input
/// positions up to which its click and exposure counts reach, the writer's wall clock when it was
/// taken (for the sync lag), and the changes. Decoding refuses a crafted or foreign value with a
/// reason.
struct ItemDeltaMessage: Sendable, Equatable {
    var instance: String
    var sequence: Int64
    /// Per input partition, the position the counts of this and every earlier message of the
    /// instance reach (set on the last message of a publication only).
    var positions: [Int32: Int64]
    /// Per input partition whose counts are in `changes` (or that the writer claims with this
    /// message), the epoch the writer owns it under: counts under an epoch below the latest claim
    /// before them in the log are an old owner's, and refused.
    var epochs: [Int32: Int64]
    var takenAtMilliseconds: Int64
    var changes: ItemChanges

    /// Format 3 added `changes.impressionsSeen`; messages of format 2 are read with it false.
    static let formatVersion = 3
    /// Values stay below the brokers' default message size limit (1 MB).
    static let maximumBytes = 900_000

    init(instance: String, sequence: Int64, positions: [Int32: Int64], epochs: [Int32: Int64], takenAtMilliseconds: Int64,
         changes: ItemChanges)
    {
        self.instance = instance
        self.sequence = sequence
        self.positions = positions
        self.epochs = epochs
        self.takenAtMilliseconds = takenAtMilliseconds
        self.changes = changes
    }

    /// The bytes one item delta takes in a message (an upper bound).
    static func encodedSize(of delta: ItemDelta) -> Int {
        delta.item.utf8.count + 44 + 4 * delta.embedding.count
    }

    func encode() -> [UInt8] {
        var writer = StateWriter(reservingCapacity: 128 + changes.items.reduce(0) { $0 + Self.encodedSize(of: $1) })
        writer.beginSection("IDLT")
        writer.write(Self.formatVersion)
        writer.write(instance)
        writer.write(sequence)
        writer.write(takenAtMilliseconds)
        ItemSyncState.write(positions, to: &writer)
        ItemSyncState.write(epochs, to: &writer)
        writer.write(changes.exposureTime)
        writer.write(changes.modelVersion)
        writer.write(changes.impressionsSeen)
        writer.write(changes.items.count)
        for delta in changes.items {
            writer.write(delta.item)
            writer.write(delta.source ?? -1)
            writer.write(delta.clicks)
            writer.write(delta.exposure)
            writer.write(delta.bias)
            writer.write(delta.embedding)
        }
        writer.endSection()
        return writer.bytes
    }

    init(decoding bytes: [UInt8], dimension: Int) throws {
        var reader = StateReader(bytes)
        try reader.beginSection("IDLT")
        let version = try reader.readInt()
        guard (2...Self.formatVersion).contains(version) else {
            throw StateReadError("an item delta of format \(version); this build reads 2 to \(Self.formatVersion)")
        }
        instance = try reader.readString()
        guard !instance.isEmpty else { throw StateReadError("an item delta without an instance") }
        sequence = try reader.readInt64()
        guard sequence > 0 else { throw StateReadError("an item delta with sequence \(sequence)") }
        takenAtMilliseconds = try reader.readInt64()
        positions = try ItemSyncState.readPositions(from: &reader, "item delta positions")
        epochs = try ItemSyncState.readPositions(from: &reader, "item delta epochs")
        changes = ItemChanges(exposureTime: try reader.readInt64(), modelVersion: try reader.readInt64())
        if version >= 3 { changes.impressionsSeen = try reader.readBool() }
        guard changes.modelVersion >= 0 else { throw StateReadError("an item delta with model version \(changes.modelVersion)") }
        let count = try reader.readCount(elementSize: 29, "item deltas")
        changes.items.reserveCapacity(count)
        for _ in 0..<count {
            let item = try reader.readString()
            guard !item.isEmpty, item.utf8.first != 0 else { throw StateReadError("an item delta with an empty or reserved item id") }
            let sourceValue = try reader.readInt32()
            let source: Int32? = sourceValue == -1 ? nil : sourceValue
            let clicks = try reader.readInt32()
            let exposure = try reader.readFiniteDouble("the exposure of item \(item)")
            let bias = try reader.readFiniteFloat("the bias of item \(item)")
            let embedding = try reader.readFloatArray()
            guard exposure >= 0, embedding.isEmpty || embedding.count == dimension, embedding.allSatisfy(\.isFinite) else {
                throw StateReadError("the delta of item \(item) has exposure \(exposure) and \(embedding.count) values (dimension \(dimension), finite)")
            }
            // Counts name the partition they came from, under an epoch of the writer's.
            guard source.map({ epochs[$0] != nil }) ?? (clicks == 0 && exposure == 0) else {
                throw StateReadError("the delta of item \(item) has counts of source \(sourceValue) without an epoch for it")
            }
            changes.items.append(ItemDelta(item: item, source: source, clicks: clicks, exposure: exposure, bias: bias, embedding: embedding))
        }
        try reader.endSection()
        guard reader.isAtEnd else { throw StateReadError("\(reader.remaining) bytes after an item delta") }
    }
}
