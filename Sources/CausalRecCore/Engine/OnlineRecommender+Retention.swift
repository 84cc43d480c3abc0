/// Bounded memory: admission of new ids, row limits with least-recently-seen eviction, idle-TTL
/// eviction with row reuse, and the `forget` event. Every step depends only on the events (event time, counts), so it is as
/// deterministic as the rest of the recommender and its state is in the checkpoint.
extension OnlineRecommender {
    /// The row of a user the state already has (its last-seen time moved on), else nil.
    func knownUser(_ identifier: String, at timestamp: Int64) -> Int32? {
        guard let row = users.row(for: identifier) else { return nil }
        userLastSeen[Int(row)] = max(userLastSeen[Int(row)], Int(timestamp))
        return row
    }

    /// The user's row, given once the user has been named `userAdmitAfter` times.
    func admittedUser(_ identifier: String, at timestamp: Int64) -> Int32? {
        if let row = knownUser(identifier, at: timestamp) { return row }
        guard Self.admit(identifier, into: &waitingUsers, after: configuration.retention.userAdmitAfter, at: timestamp) else {
            return nil
        }
        let row = userRow(identifier)
        userLastSeen[Int(row)] = Int(timestamp)
        return row
    }

    func admittedItem(_ identifier: String, at timestamp: Int64) -> Int32? {
        if let row = items.row(for: identifier) {
            itemLastSeen[Int(row)] = max(itemLastSeen[Int(row)], Int(timestamp))
            return row
        }
        guard Self.admit(identifier, into: &waitingItems, after: configuration.retention.itemAdmitAfter, at: timestamp) else {
            return nil
        }
        let row = itemRow(identifier)
        itemLastSeen[Int(row)] = Int(timestamp)
        return row
    }

    static func admit(_ identifier: String, into waiting: inout [String: AdmissionCount], after threshold: Int,
                              at timestamp: Int64) -> Bool
    {
        guard threshold > 1 else { return true }
        var entry = waiting[identifier] ?? AdmissionCount(count: 0, lastSeen: timestamp)
        entry.count += 1
        entry.lastSeen = max(entry.lastSeen, timestamp)
        if entry.count >= threshold {
            waiting.removeValue(forKey: identifier)
            return true
        }
        waiting[identifier] = entry
        return false
    }

    func afterEvent(_ step: EventStep) {
        keepRowLimits(sparing: step)
        guard configuration.retention.isActive else { return }
        eventsSinceSweep += 1
        guard eventsSinceSweep >= configuration.retention.sweepEvery else { return }
        eventsSinceSweep = 0
        sweep(now: latestTimestamp)
    }

    /// Evicts rows idle past their TTL and forgets ids that waited too long for admission.
    func sweep(now: Int64) {
        let retention = configuration.retention
        var idleUsers: [Int32] = []
        var idleItems: [Int32] = []
        if retention.userIdleSeconds > 0 {
            let limit = Int(now) - Int(retention.userIdleSeconds * 1_000)
            for row in 0..<users.count where users.isActive(Int32(row)) && userLastSeen[row] < limit { idleUsers.append(Int32(row)) }
        }
        if retention.itemIdleSeconds > 0 {
            let limit = Int(now) - Int(retention.itemIdleSeconds * 1_000)
            for row in 0..<items.count where items.isActive(Int32(row)) && itemLastSeen[row] < limit { idleItems.append(Int32(row)) }
        }
        let memory = now - Int64(retention.admissionMemorySeconds * 1_000)
        waitingUsers = waitingUsers.filter { $0.value.lastSeen >= memory }
        waitingItems = waitingItems.filter { $0.value.lastSeen >= memory }
        evict(users: idleUsers, items: idleItems)
    }

    /// Keeps the rows in use within `maxUsers` and `maxItems`. Once an event takes a table past its
    /// limit, the least recently seen rows go (ties: the lower row first), down to 1/64 below the
    /// limit, so the scan over the table runs once per many new ids rather than for every one.
    /// The rows the event itself named are spared: its answer and positive refer to them.
    func keepRowLimits(sparing step: EventStep) {
        let retention = configuration.retention
        let userExcess = retention.maxUsers > 0 ? users.activeCount - retention.maxUsers : 0
        let itemExcess = retention.maxItems > 0 ? items.activeCount - retention.maxItems : 0
        guard userExcess > 0 || itemExcess > 0 else { return }
        let goneUsers = userExcess > 0
            ? Self.leastRecentlySeen(userLastSeen, in: users, count: userExcess + retention.maxUsers / 64,
                                     sparing: step.userRow.map { [$0] } ?? [])
            : []
        let goneItems = itemExcess > 0
            ? Self.leastRecentlySeen(itemLastSeen, in: items, count: itemExcess + retention.maxItems / 64,
                                     sparing: Set(step.itemRows))
            : []
        limitEvictedUsers += goneUsers.count
        limitEvictedItems += goneItems.count
        evict(users: goneUsers, items: goneItems)
    }

    static func leastRecentlySeen(_ lastSeen: [Int], in table: IdentifierTable, count: Int,
                                  sparing spared: Set<Int32>) -> [Int32]
    {
        var candidates: [(time: Int, row: Int32)] = []
        candidates.reserveCapacity(table.activeCount)
        for row in 0..<table.count where table.isActive(Int32(row)) && !spared.contains(Int32(row)) {
            candidates.append((lastSeen[row], Int32(row)))
        }
        candidates.sort { $0.time != $1.time ? $0.time < $1.time : $0.row < $1.row }
        return candidates.prefix(count).map(\.row)
    }

    /// Removes a user's row, history and queued positives (the `forget` event).
    public func forget(user identifier: String) {
        applied.forgets += 1
        waitingUsers.removeValue(forKey: identifier)
        if let row = users.row(for: identifier) { evict(users: [row], items: []) }
    }

    func evict(users evicted: [Int32], items gone: [Int32]) {
        lastEvictedItems = gone
        guard !evicted.isEmpty || !gone.isEmpty else { return }
        for row in evicted {
            users.remove(users.identifier(of: row))
            model.resetUser(row)
            history.clearUser(row)
            userLastSeen[Int(row)] = 0
        }
        for row in gone {
            items.remove(items.identifier(of: row))
            model.resetItem(row)
            exposure.reset(item: row)
            itemLastSeen[Int(row)] = 0
        }
        let userSet = Set(evicted)
        let itemSet = Set(gone)
        history.removeItems(itemSet)
        let removed = { (positive: PositiveExample) in userSet.contains(positive.user) || itemSet.contains(positive.item) }
        pending.removeAll(where: removed)
        replay.removeAll(where: removed)
        sampler.forget(users: userSet, items: itemSet)
        mostExposedCache = RankedCache()
        mostClickedCache = RankedCache()
        freeItemsSorted = items.freeRows.sorted()
        evictedUsers += evicted.count
        evictedItems += gone.count
    }

    /// Rows in use (ids with a row), for memory reports.
    public var activeUsers: Int { users.activeCount }
    public var activeItems: Int { items.activeCount }
}
