import CausalRecCore

/// What the changelog needs to know per input partition this instance owns: the events applied
/// (counted by kind, exact across hand-overs: a new owner continues the previous owner's count),
/// the users whose state changed since the partition's last flush, and the positions of restored
/// users, below which a re-read event of that user is already in the user's state.
struct PartitionLedger {
    private(set) var applied: [Int32: AppliedEventCounts] = [:]
    private(set) var changedUsers: [Int32: Set<String>] = [:]
    /// Per partition: the restored users whose record is ahead of the partition's restored
    /// position (their record was written by a flush that did not get to its meta record), and
    /// the highest of those positions (past it, no event needs the check).
    private var restoredPositions: [Int32: (users: [String: Int64], highest: Int64)] = [:]

    /// Whether an event of `user` at `offset` of `partition` is new to the user's state. A re-read
    /// event below the user's restored position is not: the user's record already holds it.
    mutating func isNew(user: String, partition: Int32, offset: Int64) -> Bool {
        guard let restored = restoredPositions[partition] else { return true }
        guard offset < restored.highest else {
            restoredPositions[partition] = nil
            return true
        }
        guard let position = restored.users[user] else { return true }
        return offset >= position
    }

    /// Counts an event of `partition` (applied or, when already in the user's state, skipped: it
    /// is applied either way) and marks its user changed.
    mutating func note(_ kind: EventStep.Kind, user: String, partition: Int32, changedUser: Bool) {
        var counts = applied[partition, default: AppliedEventCounts()]
        switch kind {
        case .impression: counts.impressions += 1
        case .click: counts.clicks += 1
        case .request: counts.requests += 1
        case .forget: counts.forgets += 1
        }
        applied[partition] = counts
        if changedUser { changedUsers[partition, default: []].insert(user) }
    }

    /// A user whose state changed without an event of theirs (given back by idle eviction): the
    /// next flush writes the user as they are now (a tombstone when gone).
    mutating func markChanged(user: String, partition: Int32) {
        changedUsers[partition, default: []].insert(user)
    }

    /// The users changed since the last flush of `partition`, forgotten here (the flush writes them).
    mutating func takeChangedUsers(of partition: Int32) -> Set<String> {
        changedUsers.removeValue(forKey: partition) ?? []
    }

    /// A partition taken over: its count continues from the restored meta, and its users'
    /// restored positions decide which re-read events are new to them.
    mutating func restored(_ partition: Int32, applied counts: AppliedEventCounts, userPositions: [String: Int64],
                           inputPosition: Int64)
    {
        applied[partition] = counts
        changedUsers[partition] = nil
        let ahead = userPositions.filter { $0.value > inputPosition }
        restoredPositions[partition] = ahead.isEmpty ? nil : (ahead, ahead.values.max()!)
    }

    /// A partition given away: nothing of it stays here.
    mutating func released(_ partition: Int32) {
        applied[partition] = nil
        changedUsers[partition] = nil
        restoredPositions[partition] = nil
    }
}
