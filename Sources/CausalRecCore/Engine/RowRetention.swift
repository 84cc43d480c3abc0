/// The recommender's retention part, which keeps memory bounded: it admits a new id once it has
/// been named often enough, remembers when each row was last named, and after each event says
/// which rows to give back — past the row limits the least recently seen, and at each sweep the
/// rows idle past their TTL. It decides; the recommender releases the rows from every part
/// (`OnlineRecommender.release`). Every decision depends only on the events (event time, counts),
/// so it is as deterministic as the rest of the recommender, and its state is in the checkpoint.
package final class RowRetention {
    let configuration: RetentionConfiguration
    /// Event time each row was last named (0 for a free row).
    var userLastSeen: [Int] = []
    var itemLastSeen: [Int] = []
    /// Ids named fewer times than their admission threshold so far.
    var waitingUsers: [String: AdmissionCount] = [:]
    var waitingItems: [String: AdmissionCount] = [:]
    var eventsSinceSweep = 0
    package internal(set) var evictedUsers = 0
    package internal(set) var evictedItems = 0
    /// Of the evictions, those the row limits made (the rest were idle or forgotten); counted since
    /// this process started, not kept in the state.
    package internal(set) var limitEvictedUsers = 0
    package internal(set) var limitEvictedItems = 0

    struct AdmissionCount {
        var count: Int
        var lastSeen: Int64
    }

    init(configuration: RetentionConfiguration) {
        self.configuration = configuration
    }

    // MARK: Admission and last-seen times

    /// Counts one more naming of an id without a row; true once it has reached its threshold
    /// (then the caller gives it a row and calls `started`).
    func admitsUser(_ identifier: String, at timestamp: Int64) -> Bool {
        Self.admit(identifier, into: &waitingUsers, after: configuration.userAdmitAfter, at: timestamp)
    }

    func admitsItem(_ identifier: String, at timestamp: Int64) -> Bool {
        Self.admit(identifier, into: &waitingItems, after: configuration.itemAdmitAfter, at: timestamp)
    }

    private static func admit(_ identifier: String, into waiting: inout [String: AdmissionCount], after threshold: Int,
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

    /// The event time at which the user's row was last named (0 for a free row).
    package func lastSeen(ofUser row: Int32) -> Int64 {
        Int(row) < userLastSeen.count ? Int64(userLastSeen[Int(row)]) : 0
    }

    /// A row named again: its last-seen time moves on (never back).
    func touchUser(_ row: Int32, at timestamp: Int64) {
        userLastSeen[Int(row)] = max(userLastSeen[Int(row)], Int(timestamp))
    }

    func touchItem(_ row: Int32, at timestamp: Int64) {
        itemLastSeen[Int(row)] = max(itemLastSeen[Int(row)], Int(timestamp))
    }

    /// A row just given to an id (new or reused).
    func startedUser(_ row: Int32, at timestamp: Int64, rowCount: Int) {
        Self.grow(&userLastSeen, to: rowCount)
        userLastSeen[Int(row)] = Int(timestamp)
    }

    func startedItem(_ row: Int32, at timestamp: Int64, rowCount: Int) {
        Self.grow(&itemLastSeen, to: rowCount)
        itemLastSeen[Int(row)] = Int(timestamp)
    }

    /// A user forgotten before admission is forgotten here too.
    func forgetWaitingUser(_ identifier: String) {
        waitingUsers.removeValue(forKey: identifier)
    }

    private static func grow(_ times: inout [Int], to count: Int) {
        if times.count < count { times.append(contentsOf: repeatElement(0, count: count - times.count)) }
    }

    // MARK: Eviction

    /// The rows to release after an event: past a row limit the least recently seen (sparing the
    /// rows the event named: its answer and positive refer to them), then, at a sweep, those idle
    /// past their TTL. Ids that waited too long for admission are forgotten at the sweep.
    func rowsToRelease(after step: EventStep, users: IdentifierTable, items: IdentifierTable, now: Int64) -> RowRelease {
        var release = rowsOverLimit(sparing: step, users: users, items: items)
        guard configuration.isActive else { return release }
        eventsSinceSweep += 1
        guard eventsSinceSweep >= configuration.sweepEvery else { return release }
        eventsSinceSweep = 0
        let memory = now - Int64(configuration.admissionMemorySeconds * 1_000)
        waitingUsers = waitingUsers.filter { $0.value.lastSeen >= memory }
        waitingItems = waitingItems.filter { $0.value.lastSeen >= memory }
        let alreadyUsers = Set(release.users)
        let alreadyItems = Set(release.items)
        if configuration.userIdleSeconds > 0 {
            let limit = Int(now) - Int(configuration.userIdleSeconds * 1_000)
            for row in 0..<users.count where users.isActive(Int32(row)) && userLastSeen[row] < limit && !alreadyUsers.contains(Int32(row)) {
                release.users.append(Int32(row))
            }
        }
        if configuration.itemIdleSeconds > 0 {
            let limit = Int(now) - Int(configuration.itemIdleSeconds * 1_000)
            for row in 0..<items.count where items.isActive(Int32(row)) && itemLastSeen[row] < limit && !alreadyItems.contains(Int32(row)) {
                release.items.append(Int32(row))
            }
        }
        return release
    }

    /// Keeps the rows in use within `maxUsers` and `maxItems`. Once an event takes a table past its
    /// limit the least recently seen rows go (ties: the lower row first), down to 1/64 below the
    /// limit, so the scan over the table runs once per many new ids rather than for every one.
    private func rowsOverLimit(sparing step: EventStep, users: IdentifierTable, items: IdentifierTable) -> RowRelease {
        let userExcess = configuration.maxUsers > 0 ? users.activeCount - configuration.maxUsers : 0
        let itemExcess = configuration.maxItems > 0 ? items.activeCount - configuration.maxItems : 0
        guard userExcess > 0 || itemExcess > 0 else { return RowRelease() }
        let goneUsers = userExcess > 0
            ? Self.leastRecentlySeen(userLastSeen, in: users, count: userExcess + configuration.maxUsers / 64,
                                     sparing: step.userRow.map { [$0] } ?? [])
            : []
        let goneItems = itemExcess > 0
            ? Self.leastRecentlySeen(itemLastSeen, in: items, count: itemExcess + configuration.maxItems / 64,
                                     sparing: Set(step.itemRows))
            : []
        limitEvictedUsers += goneUsers.count
        limitEvictedItems += goneItems.count
        return RowRelease(users: goneUsers, items: goneItems)
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

    /// Rows released: their times are cleared, and counted when they were evicted (by this
    /// part's decision or a `forget`) rather than moved to another recommender.
    func released(_ release: RowRelease, evicted: Bool) {
        for row in release.users { userLastSeen[Int(row)] = 0 }
        for row in release.items { itemLastSeen[Int(row)] = 0 }
        guard evicted else { return }
        evictedUsers += release.users.count
        evictedItems += release.items.count
    }
}

/// User and item rows to give back, in the order they are freed (the order decides which free
/// row a new id reuses first).
struct RowRelease {
    var users: [Int32] = []
    var items: [Int32] = []

    var isEmpty: Bool { users.isEmpty && items.isEmpty }
}
