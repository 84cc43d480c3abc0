import CausalRecCore

/// The part of the item exchange a checkpoint keeps: where the deltas log is read next, the
/// highest message number applied per instance (and of this instance's own, read back), the
/// positions published and the latest claim's epoch per input partition.
struct ItemSyncState: Equatable {
    var logOffset: Int64 = 0
    var applied: [String: Int64] = [:]
    var ownRead: Int64 = 0
    var publishedPositions: [Int32: Int64] = [:]
    var claims: [Int32: Int64] = [:]

    func write(to writer: inout StateWriter) {
        writer.beginSection("SYNC")
        writer.write(logOffset)
        writer.write(applied.count)
        for (name, sequence) in applied.sorted(by: { $0.key < $1.key }) {
            writer.write(name)
            writer.write(sequence)
        }
        writer.write(ownRead)
        Self.write(publishedPositions, to: &writer)
        Self.write(claims, to: &writer)
        writer.endSection()
    }

    static func read(from reader: inout StateReader) throws -> ItemSyncState {
        try reader.beginSection("SYNC")
        var state = ItemSyncState()
        state.logOffset = try reader.readInt64()
        guard state.logOffset >= 0 else { throw StateReadError("the deltas log offset \(state.logOffset) is invalid") }
        for _ in 0..<(try reader.readCount(elementSize: 16, "applied delta numbers")) {
            let name = try reader.readString()
            let sequence = try reader.readInt64()
            guard !name.isEmpty, sequence > 0, state.applied[name] == nil else {
                throw StateReadError("an applied delta number \(sequence) of '\(name)'")
            }
            state.applied[name] = sequence
        }
        state.ownRead = try reader.readInt64()
        guard state.ownRead >= 0 else { throw StateReadError("the own delta number read back \(state.ownRead) is invalid") }
        state.publishedPositions = try readPositions(from: &reader, "published positions")
        state.claims = try readPositions(from: &reader, "claim epochs")
        try reader.endSection()
        return state
    }

    /// Input positions (or epochs) per partition, in partition order (here and in the deltas themselves).
    static func write(_ positions: [Int32: Int64], to writer: inout StateWriter) {
        writer.write(positions.count)
        for (partition, position) in positions.sorted(by: { $0.key < $1.key }) {
            writer.write(partition)
            writer.write(position)
        }
    }

    static func readPositions(from reader: inout StateReader, _ what: String) throws -> [Int32: Int64] {
        var positions: [Int32: Int64] = [:]
        for _ in 0..<(try reader.readCount(elementSize: 12, what)) {
            let partition = try reader.readInt32()
            let position = try reader.readInt64()
            guard partition >= 0, position >= 0, positions[partition] == nil else {
                throw StateReadError("\(what): position \(position) of partition \(partition)")
            }
            positions[partition] = position
        }
        return positions
    }
}
