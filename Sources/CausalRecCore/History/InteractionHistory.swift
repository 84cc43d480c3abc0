/// Which items each user clicked (and, when tracked, was shown), and how often each item was
/// clicked. Samplers use it to avoid drawing a user's positives as negatives; ranking uses it to
/// leave clicked items out.
///
/// Per-user sets are sorted `[Int32]` arrays: membership is a binary search over a few dozen
/// entries with no hashing (the sampler's inner loop asks millions of times per second), and an
/// entry costs 4 bytes instead of a hash-set slot.
package final class InteractionHistory {
    package private(set) var clickedByUser: [[Int32]] = []
    /// Items shown to each user but not (yet) clicked; kept only when `tracksImpressions`.
    package private(set) var impressedByUser: [[Int32]] = []
    /// Clicks per item, saturating at `Int32.max` (a count only ranks the most clicked items; a
    /// trap after 2³¹ clicks of one item would stop the service at every restart).
    package internal(set) var clickCounts: [Int32] = []
    package private(set) var totalClicks: Int = 0
    package let tracksImpressions: Bool

    package init(tracksImpressions: Bool = false) {
        self.tracksImpressions = tracksImpressions
    }

    package func growUsers(to count: Int) {
        if clickedByUser.count < count {
            clickedByUser.append(contentsOf: repeatElement([], count: count - clickedByUser.count))
            if tracksImpressions {
                impressedByUser.append(contentsOf: repeatElement([], count: count - impressedByUser.count))
            }
        }
    }

    package func growItems(to count: Int) {
        if clickCounts.count < count {
            clickCounts.append(contentsOf: repeatElement(0, count: count - clickCounts.count))
        }
    }

    /// Records a click; returns false when the user had clicked the item before. `counting`:
    /// the item's click count goes up too (not for a click another instance already counted).
    @discardableResult
    package func record(user: Int32, item: Int32, counting: Bool = true) -> Bool {
        if counting {
            if clickCounts[Int(item)] < .max { clickCounts[Int(item)] += 1 }
            totalClicks += 1
        }
        let inserted = SortedRows.insert(item, into: &clickedByUser[Int(user)])
        if tracksImpressions { SortedRows.remove(item, from: &impressedByUser[Int(user)]) }
        return inserted
    }

    /// Changes an item's click count, kept within 0...Int32.max (a change another instance
    /// counted).
    package func adjustClickCount(of item: Int32, by change: Int32) {
        let old = clickCounts[Int(item)]
        let new = Int32(clamping: max(0, Int64(old) + Int64(change)))
        clickCounts[Int(item)] = new
        totalClicks += Int(new) - Int(old)
    }

    /// Forgets a user's clicks and impressions (their clicks also leave the items' counts, unless
    /// `keepingCounts`: the counts are the stream's, shared by instances).
    package func clearUser(_ user: Int32, keepingCounts: Bool = false) {
        let index = Int(user)
        guard index < clickedByUser.count else { return }
        if !keepingCounts {
            for item in clickedByUser[index] {
                if clickCounts[Int(item)] > 0 { clickCounts[Int(item)] -= 1 }
                totalClicks -= 1
            }
        }
        clickedByUser[index] = []
        if tracksImpressions { impressedByUser[index] = [] }
    }

    /// Forgets items everywhere: every user's clicks and impressions of them, and their counts.
    /// One pass over all histories, so callers batch the items of a sweep.
    package func removeItems(_ items: Set<Int32>) {
        guard !items.isEmpty else { return }
        for user in clickedByUser.indices where !clickedByUser[user].isEmpty {
            let before = clickedByUser[user].count
            clickedByUser[user].removeAll { items.contains($0) }
            totalClicks -= before - clickedByUser[user].count
        }
        if tracksImpressions {
            for user in impressedByUser.indices where !impressedByUser[user].isEmpty {
                impressedByUser[user].removeAll { items.contains($0) }
            }
        }
        for item in items where Int(item) < clickCounts.count { clickCounts[Int(item)] = 0 }
    }

    /// Records that `item` was shown to `user` (only with `tracksImpressions`).
    package func recordImpression(user: Int32, item: Int32) {
        guard tracksImpressions, !hasClicked(user: user, item: item) else { return }
        SortedRows.insert(item, into: &impressedByUser[Int(user)])
    }

    @inline(__always)
    package func hasClicked(user: Int32, item: Int32) -> Bool {
        guard Int(user) < clickedByUser.count else { return false }
        return clickedByUser[Int(user)].withUnsafeBufferPointer { SortedRows.contains(item, in: $0) }
    }

    package func clicked(by user: Int32) -> [Int32] {
        Int(user) < clickedByUser.count ? clickedByUser[Int(user)] : []
    }

    package func clickCount(of user: Int32) -> Int {
        Int(user) < clickedByUser.count ? clickedByUser[Int(user)].count : 0
    }

    /// `impressedNotClicked(by:)` without a copy of the list (samplers ask per positive).
    @inline(__always)
    package func withImpressedNotClicked<Result>(by user: Int32, _ body: (UnsafeBufferPointer<Int32>) -> Result) -> Result {
        guard Int(user) < impressedByUser.count else { return body(UnsafeBufferPointer(start: nil, count: 0)) }
        return impressedByUser[Int(user)].withUnsafeBufferPointer(body)
    }

    /// Items shown to the user and not clicked (empty unless impressions are tracked).
    package func impressedNotClicked(by user: Int32) -> [Int32] {
        Int(user) < impressedByUser.count ? impressedByUser[Int(user)] : []
    }

    /// The `limit` most clicked items (ties: lower row first).
    package func mostClicked(limit: Int) -> [Int32] {
        var selector = TopKSelector<Int32>(capacity: limit)
        for index in clickCounts.indices where clickCounts[index] > 0 {
            selector.offer(score: clickCounts[index], item: Int32(index))
        }
        return selector.sortedDescending().map(\.item)
    }

    // MARK: State

    package func writeState(to writer: inout StateWriter) {
        writer.beginSection("HIST")
        writer.write(tracksImpressions)
        for lists in [clickedByUser, impressedByUser] {
            writer.write(lists.count)
            for list in lists { writer.write(list) }
        }
        writer.write(clickCounts)
        writer.write(totalClicks)
        writer.endSection()
    }

    package func readState(from reader: inout StateReader) throws {
        try reader.beginSection("HIST")
        try reader.expect(try reader.readBool(), equals: tracksImpressions, "keeping impressions per user (the sampler)")
        var lists: [[[Int32]]] = []
        for what in ["clicks per user", "impressions per user"] {
            let count = try reader.readCount(elementSize: 8, what)
            var users: [[Int32]] = []
            users.reserveCapacity(count)
            for _ in 0..<count { users.append(try reader.readInt32Array()) }
            lists.append(users)
        }
        let counts = try reader.readInt32Array()
        let total = try reader.readCounter("total clicks")
        try reader.endSection()
        clickedByUser = lists[0]
        impressedByUser = lists[1]
        clickCounts = counts
        totalClicks = total
    }

    /// Checks a restored history against the id tables: one list per user row, one count per
    /// item row, every entry an existing item that is not free, lists sorted and unique, no
    /// impression of a clicked item, and no count below the users who clicked the item.
    func validateRestored(userCount: Int, itemCount: Int, freeUsers: [Int32], freeItems: [Int32]) throws {
        try StateCheck.require(clickedByUser.count == userCount, "clicks per user: \(clickedByUser.count) lists for \(userCount) users")
        try StateCheck.require(impressedByUser.count == (tracksImpressions ? userCount : 0),
                               "impressions per user: \(impressedByUser.count) lists for \(userCount) users")
        try StateCheck.require(clickCounts.count == itemCount, "click counts: \(clickCounts.count) for \(itemCount) items")
        var listed = [Int32](repeating: 0, count: itemCount)
        for (user, clicked) in clickedByUser.enumerated() {
            try StateCheck.rows(clicked, below: itemCount, "the clicks of user row \(user)")
            try StateCheck.strictlyAscending(clicked, "the clicks of user row \(user)")
            try StateCheck.disjoint(clicked, from: freeItems, "the clicks of user row \(user)")
            for item in clicked { listed[Int(item)] += 1 }
            if tracksImpressions {
                let impressed = impressedByUser[user]
                try StateCheck.rows(impressed, below: itemCount, "the impressions of user row \(user)")
                try StateCheck.strictlyAscending(impressed, "the impressions of user row \(user)")
                try StateCheck.disjoint(impressed, from: freeItems, "the impressions of user row \(user)")
                try StateCheck.disjoint(impressed, from: clicked, "the impressions of user row \(user) (a clicked item)")
            }
        }
        for user in freeUsers where !clickedByUser[Int(user)].isEmpty || (tracksImpressions && !impressedByUser[Int(user)].isEmpty) {
            throw StateReadError("the free user row \(user) has a history")
        }
        let ceiling = Int32.max - (1 << 24)
        for item in 0..<itemCount where clickCounts[item] < listed[item] || clickCounts[item] > ceiling {
            throw StateReadError("item row \(item) has a click count of \(clickCounts[item]) but \(listed[item]) users list it")
        }
    }
}
