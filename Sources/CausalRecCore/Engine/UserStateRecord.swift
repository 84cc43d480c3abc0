/// One user's whole state as a unit, named by ids rather than rows (rows differ between
/// recommenders): the learned parameters, the clicked (and, when tracked, shown) items, the
/// last-seen time and the user's queued and recent training positives. A recommender exports a
/// set of users, another imports them, and the first releases them: the moved users answer and
/// train on the new owner as they would have on the old one.
///
/// Not in the record: shared item state (embeddings, exposure) and the sampler's own memory of
/// the user (rebuilt from the stream on the new owner).
public struct UserStateRecord: Sendable, Equatable {
    /// A training positive of the user, in ids.
    public struct Positive: Sendable, Equatable {
        public var item: String
        public var timestamp: Int64
        public var exposure: Float
    }

    public var user: String
    package var parameters: UserParameters
    /// Clicked items, in the recommender's row order when exported.
    public var clickedItems: [String]
    /// Shown but not clicked (empty unless the recommender tracks impressions).
    public var shownItems: [String]
    public var lastSeen: Int64
    /// Positives waiting for the next batch, and recent ones drawn again beside new ones (oldest first).
    public var pendingPositives: [Positive]
    public var recentPositives: [Positive]

}

// MARK: Binary form

extension UserStateRecord {
    /// Version of the binary form `encode` writes (the first byte after the section header).
    public static let formatVersion = 1

    /// The record as bytes (little-endian, one `USER` section), for a changelog or a file.
    public func encode() -> [UInt8] {
        var writer = StateWriter(reservingCapacity: 512 + 4 * parameters.embedding.count * 3)
        writer.beginSection("USER")
        writer.write(Self.formatVersion)
        writer.write(user)
        writer.write(parameters.embedding)
        writer.write(parameters.firstMoment)
        writer.write(parameters.secondMoment)
        writer.write(parameters.beta1Power)
        writer.write(parameters.beta2Power)
        for items in [clickedItems, shownItems] {
            writer.write(items.count)
            for item in items { writer.write(item) }
        }
        writer.write(lastSeen)
        for positives in [pendingPositives, recentPositives] {
            writer.write(positives.count)
            for positive in positives {
                writer.write(positive.item)
                writer.write(positive.timestamp)
                writer.write(positive.exposure)
            }
        }
        writer.endSection()
        return writer.bytes
    }

    /// Reads a record written by `encode`, for a model of `dimension`; a crafted or foreign record
    /// is refused with a reason (`StateReadError`), never trusted.
    public init(decoding bytes: [UInt8], dimension: Int) throws {
        var reader = StateReader(bytes)
        try reader.beginSection("USER")
        let version = try reader.readInt()
        guard version == Self.formatVersion else {
            throw StateReadError("a user record of format \(version); this build reads \(Self.formatVersion)")
        }
        let user = try reader.readString()
        guard !user.isEmpty else { throw StateReadError("a user record without a user id") }
        var vectors: [[Float]] = []
        for what in ["embedding", "first moment", "second moment"] {
            let vector = try reader.readFloatArray()
            guard vector.count == dimension, vector.allSatisfy(\.isFinite) else {
                throw StateReadError("the user record's \(what) is not \(dimension) finite numbers")
            }
            vectors.append(vector)
        }
        let beta1Power = try reader.readFiniteFloat("a β₁ power")
        let beta2Power = try reader.readFiniteFloat("a β₂ power")
        guard beta1Power > 0, beta1Power <= 1, beta2Power > 0, beta2Power <= 1, vectors[2].allSatisfy({ $0 >= 0 }) else {
            throw StateReadError("the user record's optimizer state is out of range")
        }
        var itemLists: [[String]] = []
        for what in ["clicked items", "shown items"] {
            let items = try reader.readList(elementSize: 8, what) { reader in
                let item = try reader.readString()
                guard !item.isEmpty else { throw StateReadError("\(what): an empty item id") }
                return item
            }
            guard Set(items).count == items.count else { throw StateReadError("\(what): an item appears twice") }
            itemLists.append(items)
        }
        let lastSeen = try reader.readTime("the last-seen time")
        var positiveLists: [[Positive]] = []
        for what in ["queued positives", "recent positives"] {
            positiveLists.append(try reader.readList(elementSize: 20, what) { reader in
                let item = try reader.readString()
                let positive = Positive(item: item, timestamp: try reader.readTime("the time of a positive"),
                                        exposure: try reader.readFiniteFloat("the exposure of a positive"))
                guard !item.isEmpty, positive.exposure >= 0 else { throw StateReadError("\(what): an invalid positive") }
                return positive
            })
        }
        try reader.endSection()
        guard reader.isAtEnd else { throw StateReadError("\(reader.remaining) bytes after the user record") }
        self.init(user: user,
                  parameters: UserParameters(embedding: vectors[0], firstMoment: vectors[1], secondMoment: vectors[2],
                                             beta1Power: beta1Power, beta2Power: beta2Power),
                  clickedItems: itemLists[0], shownItems: itemLists[1], lastSeen: lastSeen,
                  pendingPositives: positiveLists[0], recentPositives: positiveLists[1])
    }
}

// MARK: Size cap

extension UserStateRecord {
    /// The record cut down so that `encode()` is at most `maxBytes` long (a broker refuses
    /// messages above its limit, and one user with an enormous history must not stop every flush
    /// of the partition), and how many entries were left out. What goes first is what matters
    /// least after a move: shown items, then the oldest recent positives, then the oldest queued
    /// ones, then clicked items (the new owner may recommend those again). Nil when even the
    /// record without any of them is too long.
    public func capped(toBytes maxBytes: Int) -> (record: UserStateRecord, removed: Int)? {
        var record = self
        var excess = encode().count - maxBytes
        guard excess > 0 else { return (record, 0) }
        var removed = 0
        func cost(_ item: String) -> Int { 8 + item.utf8.count }
        while excess > 0, let item = record.shownItems.popLast() {
            excess -= cost(item)
            removed += 1
        }
        while excess > 0, !record.recentPositives.isEmpty {
            excess -= cost(record.recentPositives.removeFirst().item) + 12
            removed += 1
        }
        while excess > 0, !record.pendingPositives.isEmpty {
            excess -= cost(record.pendingPositives.removeFirst().item) + 12
            removed += 1
        }
        while excess > 0, let item = record.clickedItems.popLast() {
            excess -= cost(item)
            removed += 1
        }
        guard excess <= 0 else { return nil }
        return (record, removed)
    }
}
