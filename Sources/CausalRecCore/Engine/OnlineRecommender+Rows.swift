/// Rows for ids: an id gets a row once retention admits it, a new row grows every table indexed
/// by row, and a row given back (a limit, an idle TTL, a `forget`) is released from every part.
extension OnlineRecommender {
    /// The row of a user the state already has (its last-seen time moved on), else nil.
    func knownUser(_ identifier: String, at timestamp: Int64) -> Int32? {
        guard let row = users.row(for: identifier) else { return nil }
        retention.touchUser(row, at: timestamp)
        return row
    }

    /// The user's row, given once retention admits the user.
    func admittedUser(_ identifier: String, at timestamp: Int64) -> Int32? {
        if let row = knownUser(identifier, at: timestamp) { return row }
        guard retention.admitsUser(identifier, at: timestamp) else { return nil }
        return newUserRow(identifier, at: timestamp)
    }

    /// A row for a user id without one (a reused free row, or a new row in every user table).
    func newUserRow(_ identifier: String, at timestamp: Int64) -> Int32 {
        let (row, inserted) = users.insert(identifier)
        if inserted {
            model.growUsers(to: users.count)
            history.growUsers(to: users.count)
        }
        retention.startedUser(row, at: timestamp, rowCount: users.count)
        return row
    }

    func admittedItem(_ identifier: String, at timestamp: Int64) -> Int32? {
        if let row = items.row(for: identifier) {
            retention.touchItem(row, at: timestamp)
            return row
        }
        guard retention.admitsItem(identifier, at: timestamp) else { return nil }
        return newItemRow(identifier, at: timestamp)
    }

    /// A row for an item id without one (a reused free row, or a new row in every item table).
    func newItemRow(_ identifier: String, at timestamp: Int64) -> Int32 {
        let (row, inserted) = items.insert(identifier)
        if inserted {
            let count = items.count
            model.growItems(to: count)
            exposure.grow(to: count)
            history.growItems(to: count)
            if !freeItemsSorted.isEmpty { Self.removeSorted(row, from: &freeItemsSorted) }
            model.initializeItem(row, identifier: identifier)
        }
        sharing?.started(row, values: model.items.row(row), bias: model.itemBias[Int(row)])
        retention.startedItem(row, at: timestamp, rowCount: items.count)
        return row
    }

    /// Drops `row` from a sorted array (a reused free row), by binary search: re-sorting all free
    /// rows at every reuse would cost O(n log n) per new id after a large eviction.
    static func removeSorted(_ row: Int32, from sorted: inout [Int32]) {
        var low = 0
        var high = sorted.count
        while low < high {
            let middle = (low + high) / 2
            if sorted[middle] < row { low = middle + 1 } else { high = middle }
        }
        if low < sorted.count && sorted[low] == row { sorted.remove(at: low) }
    }

    /// Removes a user's row, history and queued positives (the `forget` event). With shared
    /// items the user's clicks leave the items' counts as a change to publish (`counting`: not
    /// when another instance already counted this forget; `source`: the input it came from).
    public func forget(user identifier: String, counting: Bool = true, source: Int32 = 0) {
        applied.forgets += 1
        retention.forgetWaitingUser(identifier)
        guard let row = users.row(for: identifier) else { return }
        if let sharing, counting {
            for item in history.clicked(by: row) {
                history.adjustClickCount(of: item, by: -1)
                sharing.countClick(item, by: -1, source: source)
            }
        }
        release(RowRelease(users: [row]))
    }

    /// Gives rows back: each id loses its row (reused by the next new id), and every part drops
    /// what it holds of them — embeddings and optimizer state, exposure, history, queued and
    /// recent positives, the sampler's memory, the cached popular lists. `evicted`: the rows count
    /// as evictions (a limit, a TTL, a `forget`), not as users moved elsewhere.
    func release(_ release: RowRelease, evicted: Bool = true) {
        guard !release.isEmpty else { return }
        for row in release.users {
            users.remove(users.identifier(of: row))
            model.resetUser(row)
            history.clearUser(row, keepingCounts: sharing != nil)
        }
        for row in release.items {
            items.remove(items.identifier(of: row))
            model.resetItem(row)
            exposure.reset(item: row)
        }
        let userSet = Set(release.users)
        let itemSet = Set(release.items)
        history.removeItems(itemSet)
        training.release(users: userSet, items: itemSet)
        ranking.rowsReleased()
        retention.released(release, evicted: evicted)
        freeItemsSorted = items.freeRows.sorted()
    }

    /// Rows in use (ids with a row), for memory reports.
    public var activeUsers: Int { users.activeCount }
    public var activeItems: Int { items.activeCount }
}
