import CausalRecCore

/// One record of the users' changelog (`<group>-users-changelog`), typed. The changelog holds the
/// state of every user of an input partition in the same-numbered changelog partition, the last
/// record per key standing for the user (what log compaction keeps), plus two kinds of records of
/// the service's own under keys that start with NUL (event ids never do; the decoder refuses them).
enum ChangelogEntry: Sendable, Equatable {
    /// A user's whole state; key: the user id.
    case user(UserStateRecord)
    /// The user is gone (forgotten or evicted); a tombstone (null value) under the user's id.
    case userRemoved(String)
    /// The partition's summary at a flush: who wrote it and the events its state has applied.
    case meta(PartitionMeta)
    /// An instance takes the partition over. A later record of a lower epoch comes from an owner
    /// that has not yet noticed it lost the partition (a zombie) and is ignored.
    case claim(instance: String)
}

/// What every changelog record carries in its headers (so tombstones carry it too).
struct ChangelogStamp: Sendable, Equatable {
    /// The writer's ownership epoch of the partition (its claim's).
    var epoch: Int64
    /// The input position the record reflects: every event of the partition before this offset
    /// is in it, none after.
    var position: Int64
}

/// The partition-wide part of the changelog: the events applied, counted by kind.
struct PartitionMeta: Sendable, Equatable {
    var instance: String
    var applied: AppliedEventCounts
}
