import CausalRecCore

/// A changelog record as it travels: key, value (nil = tombstone) and the stamp, which the Kafka
/// adapter carries in headers. Building one encodes an entry; `entry(dimension:)` decodes it and
/// refuses a crafted or foreign record with a reason.
struct ChangelogRecord: Sendable, Equatable {
    var key: [UInt8]
    var value: [UInt8]?
    var stamp: ChangelogStamp

    /// Format of the service's own records' values (user records carry their own version).
    static let formatVersion = 1
    static let metaKey: [UInt8] = [0] + Array("meta".utf8)
    static let claimPrefix: [UInt8] = [0] + Array("claim/".utf8)

    init(key: [UInt8], value: [UInt8]?, stamp: ChangelogStamp) {
        self.key = key
        self.value = value
        self.stamp = stamp
    }

    init(_ entry: ChangelogEntry, stamp: ChangelogStamp) {
        self.stamp = stamp
        switch entry {
        case let .user(record):
            key = Array(record.user.utf8)
            value = record.encode()
        case let .userRemoved(user):
            key = Array(user.utf8)
            value = nil
        case let .meta(meta):
            key = Self.metaKey
            var writer = StateWriter(reservingCapacity: 96)
            writer.beginSection("PMET")
            writer.write(Self.formatVersion)
            writer.write(meta.instance)
            for count in [meta.applied.impressions, meta.applied.clicks, meta.applied.requests, meta.applied.forgets] {
                writer.write(count)
            }
            writer.endSection()
            value = writer.bytes
        case let .claim(instance):
            // One key per epoch: compaction never folds an earlier claim into a later one, so a
            // zombie's record between two claims is still recognised after compaction.
            key = Self.claimPrefix + Array(String(stamp.epoch).utf8)
            var writer = StateWriter(reservingCapacity: 64)
            writer.beginSection("CLAM")
            writer.write(Self.formatVersion)
            writer.write(instance)
            writer.endSection()
            value = writer.bytes
        }
    }

    /// Whether the record is one of the service's own (meta or claim), not a user's.
    var isServiceRecord: Bool { key.first == 0 }

    /// The user id of a user record or tombstone.
    var user: String? {
        guard !isServiceRecord, !key.isEmpty else { return nil }
        return String(validating: key, as: UTF8.self)
    }

    /// The record as an entry, for a model of `dimension`.
    func entry(dimension: Int) throws -> ChangelogEntry {
        guard stamp.epoch >= 0, stamp.position >= 0 else {
            throw StateReadError("a changelog record with epoch \(stamp.epoch) and position \(stamp.position)")
        }
        if key == Self.metaKey {
            return .meta(try decodeMeta())
        }
        if key.starts(with: Self.claimPrefix) {
            guard key.dropFirst(Self.claimPrefix.count).elementsEqual(Array(String(stamp.epoch).utf8)) else {
                throw StateReadError("a claim whose key does not name its epoch \(stamp.epoch)")
            }
            return .claim(instance: try decodeClaim())
        }
        guard !isServiceRecord else { throw StateReadError("a changelog key of the service's that this build does not know") }
        guard let user else { throw StateReadError("a changelog key that is empty or not UTF-8") }
        guard let value else { return .userRemoved(user) }
        let record = try UserStateRecord(decoding: value, dimension: dimension)
        guard record.user == user else { throw StateReadError("a user record under another user's key") }
        return .user(record)
    }

    private func decodeMeta() throws -> PartitionMeta {
        var reader = try serviceValueReader("PMET")
        let instance = try reader.readString()
        var applied = AppliedEventCounts()
        applied.impressions = try reader.readCounter("applied impressions")
        applied.clicks = try reader.readCounter("applied clicks")
        applied.requests = try reader.readCounter("applied requests")
        applied.forgets = try reader.readCounter("applied forgets")
        try finish(&reader)
        return PartitionMeta(instance: instance, applied: applied)
    }

    private func decodeClaim() throws -> String {
        var reader = try serviceValueReader("CLAM")
        let instance = try reader.readString()
        try finish(&reader)
        guard !instance.isEmpty else { throw StateReadError("a claim without an instance") }
        return instance
    }

    private func serviceValueReader(_ section: String) throws -> StateReader {
        guard let value else { throw StateReadError("a tombstone under a key of the service's") }
        var reader = StateReader(value)
        try reader.beginSection(section)
        let version = try reader.readInt()
        guard version == Self.formatVersion else {
            throw StateReadError("a changelog record of format \(version); this build reads \(Self.formatVersion)")
        }
        return reader
    }

    private func finish(_ reader: inout StateReader) throws {
        try reader.endSection()
        guard reader.isAtEnd else { throw StateReadError("\(reader.remaining) bytes after a changelog record") }
    }
}
