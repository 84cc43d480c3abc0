import CausalRecCore
import Logging

/// What a flush writes, captured with the checkpoint's state: per partition, its records and the
/// changed users they came from (given back to the ledger when the write fails).
struct ChangelogFlush {
    var records: [Int32: [ChangelogRecord]] = [:]
    var changed: [Int32: Set<String>] = [:]

    var isEmpty: Bool { records.isEmpty }
}

/// The stream processor's side of running several instances in one group: which events are new
/// to a restored user, what each partition has applied, what a checkpoint writes to the users'
/// changelog, and what an assignment restores from it (README.md, "Several instances").
///
/// Everything except `claim` and `write` runs with the live state's lock held; those two do the
/// changelog's I/O and run without it.
final class PartitionOwnership {
    let handover: PartitionHandover
    private(set) var ledger = PartitionLedger()
    /// Owned partitions whose local state was kept at the last assignment (the changelog held
    /// nothing newer); the others were restored from it.
    private(set) var keptLocal: Set<Int32> = []
    private let logger: Logger
    /// Set by the service (tests run without).
    var metrics: ScaleOutMetrics?
    /// Partitions of the input topic: an instance trains on its share of the group's batch
    /// (`OnlineRecommender.setTrainingShare`).
    let inputPartitions: Int

    init(handover: PartitionHandover, inputPartitions: Int, logger: Logger) {
        precondition(inputPartitions > 0, "an input of \(inputPartitions) partitions")
        self.handover = handover
        self.inputPartitions = inputPartitions
        self.logger = logger
    }

    var instance: String { handover.instance }

    // MARK: Events (lock held)

    /// Whether the event of `user` at `offset` changes the user's state: false when a restored
    /// record of the user already holds it (it is counted as applied all the same).
    func admits(user: String, partition: Int32, offset: Int64) -> Bool {
        ledger.isNew(user: user, partition: partition, offset: offset)
    }

    func applied(_ kind: EventStep.Kind, user: String, partition: Int32, changedUser: Bool) {
        ledger.note(kind, user: user, partition: partition, changedUser: changedUser)
    }

    /// Users given back by idle eviction: the next flush writes their tombstones.
    func evicted(users: [(user: String, partition: Int32)]) {
        for entry in users { ledger.markChanged(user: entry.user, partition: entry.partition) }
    }

    // MARK: Flush

    /// The records of every owned partition at `positions` (lock held, with the checkpoint's capture).
    func capture(positions: [Int32: Int64], recommender: OnlineRecommender) -> ChangelogFlush {
        var flush = ChangelogFlush()
        let trimmedBefore = handover.trimmedEntries
        defer { metrics?.trimmedEntries.increment(by: handover.trimmedEntries - trimmedBefore) }
        for (partition, position) in positions where handover.epochs[partition] != nil {
            let changed = ledger.takeChangedUsers(of: partition)
            flush.changed[partition] = changed
            flush.records[partition] = handover.records(partition: partition, position: position, changed: changed,
                                                        applied: ledger.applied[partition] ?? AppliedEventCounts(), recommender: recommender)
        }
        return flush
    }

    /// Writes a captured flush (after the outputs settled, before the local checkpoint and the
    /// commit; no lock: blocking I/O). When it fails, the caller gives the flush back.
    func write(_ flush: ChangelogFlush) throws {
        for (partition, records) in flush.records.sorted(by: { $0.key < $1.key }) {
            try handover.log.append(records, partition: partition)
            metrics?.changelogRecords.increment(by: records.count)
            metrics?.changelogBytes.increment(by: records.reduce(0) { $0 + $1.key.count + ($1.value?.count ?? 0) })
        }
    }

    /// A capture that was not written (its checkpoint was given up): its users stay changed.
    func giveBack(_ flush: ChangelogFlush) {
        for (partition, users) in flush.changed {
            for user in users { ledger.markChanged(user: user, partition: partition) }
        }
    }

    // MARK: Assignment

    /// Reads `partition`'s changelog and claims it (no lock: blocking I/O).
    func claim(_ partition: Int32) throws -> RestoredPartition {
        let started = ContinuousClock.now
        let restored = try handover.claim(partition: partition)
        metrics?.restoreDuration.record(ContinuousClock.now - started)
        metrics?.ignoredRecords["zombie"]?.increment(by: restored.zombieRecords)
        metrics?.ignoredRecords["refused"]?.increment(by: restored.refusedRecords)
        if restored.refusedRecords > 0 {
            logger.warning("changelog records refused", metadata: ["partition": "\(partition)", "refused": "\(restored.refusedRecords)",
                                                                  "first": "\(restored.firstRefusal ?? "")"])
        }
        logger.info("partition claimed", metadata: [
            "partition": "\(partition)", "epoch": "\(restored.epoch)", "users": "\(restored.users.count)",
            "position": "\(restored.inputPosition.map(String.init) ?? "none")", "zombie_records": "\(restored.zombieRecords)",
            "seconds": "\((ContinuousClock.now - started).inSeconds)",
        ])
        return restored
    }

    /// Whether the local state already holds `restored` (lock held): this instance wrote the
    /// latest meta record at the position the local state is at, and claimed the partition last.
    func localStateIsCurrent(_ restored: RestoredPartition, localPosition: Int64?) -> Bool {
        guard let localPosition else { return false }
        return restored.lastWriter == instance && restored.previousClaimant == instance && restored.inputPosition == localPosition
    }

    /// Installs a claimed partition's users in place of the local ones (lock held); returns where
    /// its input starts (nil: at the group's committed offset).
    func install(_ restored: RestoredPartition, partition: Int32, recommender: OnlineRecommender, localUsers: [String]) -> Int64? {
        keptLocal.remove(partition)
        recommender.releaseUsers(localUsers)
        recommender.importUsers(restored.users.map(\.record))
        let start = restored.inputPosition
        ledger.restored(partition, applied: restored.applied,
                        userPositions: Dictionary(restored.users.map { ($0.record.user, $0.position) }) { max($0, $1) },
                        inputPosition: start ?? 0)
        return start
    }

    /// Keeps the local state of a partition the changelog shows this instance still owns.
    func keepLocal(_ restored: RestoredPartition, partition: Int32) {
        keptLocal.insert(partition)
        ledger.restored(partition, applied: restored.applied, userPositions: [:], inputPosition: restored.inputPosition ?? 0)
    }

    /// The partition is gone (lock held): its users leave this instance.
    func release(_ partition: Int32, recommender: OnlineRecommender, users: [String]) {
        recommender.releaseUsers(users)
        keptLocal.remove(partition)
        ledger.released(partition)
        handover.release(partition: partition)
    }
}
