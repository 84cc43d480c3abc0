import CausalRecCore

/// Rebuilds one partition's users from its changelog, read in offset order to the end of the
/// partition. It keeps the last record per key, as compaction would, so an uncompacted log (the
/// test broker never compacts) and a compacted one restore alike; and it ignores any record of an
/// epoch below a claim read before it, so an owner that kept writing after another took the
/// partition over (a zombie) cannot overwrite the new owner's users.
///
/// The zombie rule holds on a log the cleaner has not compacted past the zombie's records. Once
/// it has, a zombie's record of a user can be the only one left under that key (the new owner's
/// earlier one was compacted away): the user then restores with no state rather than the
/// zombie's. Writers therefore never flush a partition they know is lost.
///
/// Pure: the caller reads the topic and feeds `apply` in order.
struct ChangelogRestore: Sendable {
    /// A user's last record: its bytes (decoded in `finish`, once per user) and its position.
    struct Latest: Sendable {
        var record: ChangelogRecord
    }

    private var latestByUser: [String: Latest] = [:]
    /// The latest meta record and its stamp.
    private(set) var meta: (meta: PartitionMeta, stamp: ChangelogStamp)?
    /// The highest claim read: records of lower epochs after it are a zombie's.
    private(set) var claim: (instance: String, epoch: Int64)?
    /// The highest epoch of any record read (the next claim takes one above it).
    private(set) var highestEpoch: Int64 = 0
    /// Records ignored because a claim of a higher epoch came before them.
    private(set) var zombieRecords = 0
    /// Records refused as crafted or foreign, with the first reason.
    private(set) var refusedRecords = 0
    private(set) var firstRefusal: String?
    /// Records read.
    private(set) var recordsRead = 0

    let dimension: Int

    init(dimension: Int) {
        self.dimension = dimension
    }

    /// The epoch a new owner claims the partition with.
    var nextEpoch: Int64 { highestEpoch + 1 }

    /// The input position the restored state reflects (nil: nothing was ever flushed; start at
    /// the group's committed offset).
    var inputPosition: Int64? { meta?.stamp.position }

    mutating func apply(_ record: ChangelogRecord) {
        recordsRead += 1
        if let claim, record.stamp.epoch < claim.epoch {
            zombieRecords += 1
            return
        }
        if record.isServiceRecord {
            do {
                switch try record.entry(dimension: dimension) {
                case let .meta(meta):
                    self.meta = (meta, record.stamp)
                case let .claim(instance):
                    claim = (instance, record.stamp.epoch)
                case .user, .userRemoved:
                    break
                }
            } catch {
                refuse("\(error)")
                return
            }
        } else if let user = record.user {
            // User records are decoded at the end: only the last of each user is ever used.
            latestByUser[user] = Latest(record: record)
        } else {
            refuse("a changelog key that is empty or not UTF-8")
            return
        }
        highestEpoch = max(highestEpoch, record.stamp.epoch)
    }

    /// The users the changelog holds (tombstoned users left out), each with the input position
    /// its record reflects: a re-read event of that user at or past it is new to the user, one
    /// before it is already in the record. A record that does not decode is refused and counted,
    /// never installed.
    mutating func finish() -> [(record: UserStateRecord, position: Int64)] {
        var users: [(record: UserStateRecord, position: Int64)] = []
        users.reserveCapacity(latestByUser.count)
        for (_, latest) in latestByUser.sorted(by: { $0.key < $1.key }) {
            do {
                guard case let .user(record) = try latest.record.entry(dimension: dimension) else { continue }
                users.append((record, latest.record.stamp.position))
            } catch {
                refuse("\(error)")
            }
        }
        return users
    }

    private mutating func refuse(_ reason: String) {
        refusedRecords += 1
        if firstRefusal == nil { firstRefusal = reason }
    }
}
