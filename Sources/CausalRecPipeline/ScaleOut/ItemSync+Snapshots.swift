import CausalRecCore

/// Snapshots of the shared items (`ItemSnapshot`): written now and then by one instance right
/// after an exchange, when its items are exactly what the deltas log up to its read offset adds up
/// to; read by a new instance, which then reads the log on from the snapshot's offset.
extension ItemSync {
    /// Whether a snapshot is due (wall clock), counting the interval from the first question.
    func snapshotDue(wallMilliseconds: Int64) -> Bool {
        guard snapshots != nil, snapshotIntervalMilliseconds > 0 else { return false }
        guard let last = lastSnapshotMilliseconds else {
            lastSnapshotMilliseconds = wallMilliseconds
            return false
        }
        return wallMilliseconds - last >= snapshotIntervalMilliseconds
    }

    /// The items as the log up to `logOffset` makes them (lock held, right after an exchange that
    /// read the log to its end), nil while anything taken here is unpublished or not read back:
    /// the state then holds changes the log does not, or the log changes the state does not.
    func captureSnapshot(of recommender: OnlineRecommender, wallMilliseconds: Int64) -> ItemSnapshot? {
        lastSnapshotMilliseconds = wallMilliseconds
        guard caughtUp, unpublished.isEmpty, ownRead == (applied[instance] ?? 0), logOffset > lastSnapshotOffset else { return nil }
        let (items, exposureTime, impressionsSeen) = recommender.sharedItemStates()
        return ItemSnapshot(writer: instance, number: logOffset, sync: state, modelVersion: recommender.modelVersion,
                            exposureTime: exposureTime, impressionsSeen: impressionsSeen, items: items)
    }

    /// Appends the snapshot's parts to the snapshots topic (no lock: blocking I/O).
    func write(_ snapshot: ItemSnapshot) throws {
        guard let snapshots else { return }
        let parts = snapshot.encode()
        for (index, part) in parts.enumerated() {
            try snapshots.append([part], key: ItemSnapshot.key(part: index))
        }
        lastSnapshotOffset = snapshot.sync.logOffset
        metrics?.snapshotBytes.increment(by: parts.reduce(0) { $0 + $1.count })
        metrics?.snapshots.increment()
    }

    /// Whether nothing was read or applied yet: a new instance, which may start from a snapshot.
    var startsFresh: Bool { logOffset == 0 && applied.isEmpty && !caughtUp }

    /// The latest complete snapshot on the topic (no lock), nil when there is none. Parts that do
    /// not decode are refused and counted; a snapshot missing one is not used.
    func readLatestSnapshot() throws -> ItemSnapshot? {
        guard let snapshots else { return nil }
        var latestByKey: [Int: ItemSnapshot.Part] = [:]
        _ = try snapshots.read(from: 0, toEnd: true) { value in
            do {
                let part = try ItemSnapshot.Part(decoding: value, dimension: dimension)
                latestByKey[part.index] = part
            } catch {
                countRefused()
                logger.warning("an item snapshot part was refused", metadata: ["error": "\(error)"])
            }
        }
        return ItemSnapshot.latest(of: Array(latestByKey.values))
    }

    /// Starts a new instance's items from `snapshot` (lock held): the log is read on from its
    /// offset, and the instance's own numbers continue after what the snapshot had applied of them.
    func install(_ snapshot: ItemSnapshot, into recommender: OnlineRecommender) {
        recommender.installSharedItems(snapshot.items, exposureTime: snapshot.exposureTime, modelVersion: snapshot.modelVersion,
                                       impressionsSeen: snapshot.impressionsSeen)
        var state = snapshot.sync
        state.ownRead = state.applied[instance] ?? 0
        restore(state)
        installedSnapshotOffset = snapshot.sync.logOffset
    }
}
