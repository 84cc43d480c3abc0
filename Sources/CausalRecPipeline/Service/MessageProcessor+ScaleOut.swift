import CausalRecCore
import Kafka

/// The stream processor's part in running several instances in one group (README.md, "Several
/// instances"): partitions' users move through the users' changelog (`PartitionOwnership`), item
/// state is shared through deltas (`ItemSync`).
extension MessageProcessor {
    /// Restores each partition's users from the users' changelog and claims it, unless the local
    /// state is what the changelog holds (this instance flushed it last and nobody claimed it
    /// since). The state's position then is the restored one (none when the partition was never
    /// flushed: it starts at the group's committed offset). A changelog that cannot be read stops
    /// the processor: starting without the users would lose their history.
    func takeOver(_ partitions: [KafkaTopicPartition], ownership: PartitionOwnership) {
        // The items first: the counts other instances published decide which re-read events
        // still count, and a moved user's clicks are in them.
        catchUpItems()
        for partition in partitions where failure == nil {
            do {
                let restored = try ownership.claim(partition.partition)
                let now = wallClock()
                live.withExclusiveAccess { engine in
                    itemSync?.claim(partition.partition, epoch: restored.epoch, wallMilliseconds: now)

                    if ownership.localStateIsCurrent(restored, localPosition: ledger.next[partition]) {
                        ownership.keepLocal(restored, partition: partition.partition)
                        return
                    }
                    let recommender = engine.recommender
                    let start = ownership.install(restored, partition: partition.partition, recommender: recommender,
                                                  localUsers: live.users(inPartition: partition.partition))
                    for entry in restored.users {
                        if let row = recommender.userRow(ofKnown: entry.record.user) { live.noteUserPartition(row: row, partition: partition.partition) }
                    }
                    ledger.reset(partition, to: start)
                }
            } catch {
                failure = error
                logger.error("the users' changelog of a partition could not be read; nothing more is handled in this run",
                             metadata: ["partition": "\(partition.partition)", "error": "\(error)"])
            }
        }
        // The claims go to the deltas log, and are read back with all before them, before any
        // event of the partitions is counted: from then on every instance refuses the old
        // owners' counts of them, and the positions they published are known here.
        guard let itemSync, failure == nil else { return }
        do {
            try itemSync.publish()
        } catch {
            failure = error
            logger.error("the claims could not be published to the item deltas; nothing more is handled in this run",
                         metadata: ["error": "\(error)"])
            return
        }
        catchUpItems()
    }

    /// Reads the item deltas to the end of their log and applies what the state does not hold.
    /// A log that cannot be read stops the processor: counting without it could count twice.
    func catchUpItems() {
        guard let itemSync, failure == nil else { return }
        startFromSnapshot(itemSync)
        do {
            let messages = try itemSync.read(toEnd: true)
            let now = wallClock()
            live.withExclusiveAccess { engine in
                itemSync.apply(messages, to: engine.recommender, reachedEnd: true, wallMilliseconds: now)
            }
        } catch {
            failure = error
            logger.error("the item deltas could not be read; nothing more is handled in this run", metadata: ["error": "\(error)"])
        }
    }

    /// A new instance (nothing read from the deltas log yet) starts its items from the latest
    /// snapshot, if there is one; without it (or when it cannot be read) it reads the whole log,
    /// which ends in the same state.
    private func startFromSnapshot(_ itemSync: ItemSync) {
        guard itemSync.startsFresh else { return }
        do {
            if let snapshot = try itemSync.readLatestSnapshot() {
                live.withExclusiveAccess { engine in itemSync.install(snapshot, into: engine.recommender) }
                logger.info("items started from a snapshot", metadata: [
                    "writer": "\(snapshot.writer)", "log_offset": "\(snapshot.sync.logOffset)", "items": "\(snapshot.items.count)"])
            }
        } catch {
            logger.warning("the item snapshots could not be read; reading every item delta instead", metadata: ["error": "\(error)"])
        }
    }

    /// The periodic exchange: publishes the item changes since the last one (a failed publication
    /// is retried next time with the same numbers) and applies what other instances published.
    func syncItems() {
        guard let itemSync, failure == nil else { return }
        live.withExclusiveAccess { engine in
            let owned = ledger.next.filter { assignedPartitions.contains($0.key) }
            itemSync.take(from: engine.recommender, positions: Dictionary(uniqueKeysWithValues: owned.map { ($0.key.partition, $0.value) }),
                          wallMilliseconds: wallClock())
        }
        do {
            try itemSync.publish()
        } catch {
            logger.warning("item deltas not published yet; retried at the next exchange", metadata: ["error": "\(error)"])
        }
        // The owner of input partition 0 writes the snapshots: it reads the log to its end (its
        // own messages back), so that its items are exactly the log's up to there.
        startFromSnapshot(itemSync)
        let snapshotting = itemSync.snapshotDue(wallMilliseconds: wallClock()) && assignedPartitions.contains { $0.partition == 0 }
        do {
            let toEnd = !itemSync.caughtUp || snapshotting
            let messages = try itemSync.read(toEnd: toEnd)
            let now = wallClock()
            let snapshot = live.withExclusiveAccess { engine in
                itemSync.apply(messages, to: engine.recommender, reachedEnd: toEnd, wallMilliseconds: now)
                return snapshotting ? itemSync.captureSnapshot(of: engine.recommender, wallMilliseconds: now) : nil
            }
            if let snapshot { try itemSync.write(snapshot) }
        } catch {
            logger.warning("item deltas not read (or a snapshot not written); again at the next exchange", metadata: ["error": "\(error)"])
        }
    }

    /// The flush after the outputs settled: the item changes first (their counts reach the
    /// positions the user records are written at), then the users' changelog.
    func writeChangelog(of capture: CheckpointCapture) throws {
        try itemSync?.publish()
        guard let ownership, let flush = capture.changelog, !flush.isEmpty else { return }
        try ownership.write(flush)
    }

    func discardChangelog(of capture: CheckpointCapture) {
        guard let ownership, let flush = capture.changelog else { return }
        live.withExclusiveAccess { _ in ownership.giveBack(flush) }
    }
}
