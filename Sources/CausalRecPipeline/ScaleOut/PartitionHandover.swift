import CausalRecCore

/// A partition's users as restored from the changelog.
struct RestoredPartition {
    var users: [(record: UserStateRecord, position: Int64)]
    /// Where the partition's input continues (nil: never flushed; at the group's committed offset).
    var inputPosition: Int64?
    var applied: AppliedEventCounts
    /// The epoch this instance claimed the partition with.
    var epoch: Int64
    var zombieRecords: Int
    var refusedRecords: Int
    var firstRefusal: String?
    /// The instance that wrote the latest meta record, and the one whose claim came last before
    /// this one: when both are this instance, nobody owned the partition since its last flush.
    var lastWriter: String?
    var previousClaimant: String?
}

/// Moves the users of input partitions through the changelog: `claim` restores a partition and
/// takes it over under a new epoch; `flush` writes the users a partition's events changed since
/// its last flush, then the partition's meta record, stamped with the input position they reflect.
final class PartitionHandover {
    let instance: String
    let log: any ChangelogLog
    /// The model's dimension (user records of another are refused).
    let dimension: Int
    /// This instance's epoch per partition it owns (its claim's).
    private(set) var epochs: [Int32: Int64] = [:]
    /// The longest user record written (below the brokers' default message limit of 1 MB).
    var maxRecordBytes = 900_000
    /// Entries left out of records to keep them within `maxRecordBytes`, and users with no record
    /// written at all because not even their parameters fit (their previous record stands).
    private(set) var trimmedEntries = 0
    private(set) var usersNotWritten = 0

    init(instance: String, log: any ChangelogLog, dimension: Int) {
        self.instance = instance
        self.log = log
        self.dimension = dimension
    }

    /// Reads `partition` from `offset` (the local checkpoint's changelog offset, or the start) to
    /// its end, then claims it with the next epoch. The caller installs the users (releasing any
    /// local ones of the partition first) and starts the input at `inputPosition`.
    func claim(partition: Int32, from offset: Int64 = 0) throws -> RestoredPartition {
        var restore = ChangelogRestore(dimension: dimension)
        try log.read(partition: partition, from: offset) { restore.apply($0) }
        let users = restore.finish()
        let epoch = restore.nextEpoch
        let position = restore.inputPosition
        try log.append([ChangelogRecord(.claim(instance: instance), stamp: ChangelogStamp(epoch: epoch, position: position ?? 0))],
                       partition: partition)
        epochs[partition] = epoch
        return RestoredPartition(users: users, inputPosition: position, applied: restore.meta?.meta.applied ?? AppliedEventCounts(),
                                 epoch: epoch, zombieRecords: restore.zombieRecords, refusedRecords: restore.refusedRecords,
                                 firstRefusal: restore.firstRefusal, lastWriter: restore.meta?.meta.instance,
                                 previousClaimant: restore.claim?.instance)
    }

    /// The records of a flush of `partition`: `changed` users as they are in `recommender` now (a
    /// tombstone for one that has no state any more), then the meta record, every one stamped
    /// with `position`, the partition's input position the state reflects. The users' records
    /// come first: a flush cut short leaves users ahead of the meta record, never behind it.
    func records(partition: Int32, position: Int64, changed: Set<String>, applied: AppliedEventCounts,
                 recommender: OnlineRecommender) -> [ChangelogRecord]
    {
        guard let epoch = epochs[partition] else {
            preconditionFailure("flush of partition \(partition), which this instance has not claimed")
        }
        let stamp = ChangelogStamp(epoch: epoch, position: position)
        let present = recommender.exportUsers(changed.sorted())
        let presentUsers = Set(present.map(\.user))
        var records: [ChangelogRecord] = []
        for user in present {
            guard let (record, removed) = user.capped(toBytes: maxRecordBytes) else {
                usersNotWritten += 1
                continue
            }
            trimmedEntries += removed
            records.append(ChangelogRecord(.user(record), stamp: stamp))
        }
        records += changed.subtracting(presentUsers).sorted().map { ChangelogRecord(.userRemoved($0), stamp: stamp) }
        records.append(ChangelogRecord(.meta(PartitionMeta(instance: instance, applied: applied)), stamp: stamp))
        return records
    }

    /// Writes those records and returns once the log holds them all.
    func flush(partition: Int32, position: Int64, changed: Set<String>, applied: AppliedEventCounts,
               recommender: OnlineRecommender) throws
    {
        try log.append(records(partition: partition, position: position, changed: changed, applied: applied, recommender: recommender),
                       partition: partition)
    }

    /// The partition is given away (after its last flush) or lost.
    func release(partition: Int32) {
        epochs[partition] = nil
    }
}
