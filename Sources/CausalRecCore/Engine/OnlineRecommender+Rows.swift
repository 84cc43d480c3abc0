/// Rows for ids: a new user or item grows every table indexed by its row (embeddings, optimizer
/// state, exposure, history, last-seen times).
extension OnlineRecommender {
    func itemRow(_ identifier: String) -> Int32 {
        let (row, inserted) = items.insert(identifier)
        if inserted {
            let count = items.count
            model.growItems(to: count)
            exposure.grow(to: count)
            history.growItems(to: count)
            Self.grow(&itemLastSeen, to: count)
            if !freeItemsSorted.isEmpty { Self.removeSorted(row, from: &freeItemsSorted) }
        }
        return row
    }

    func userRow(_ identifier: String) -> Int32 {
        let (row, inserted) = users.insert(identifier)
        if inserted {
            let count = users.count
            model.growUsers(to: count)
            history.growUsers(to: count)
            Self.grow(&userLastSeen, to: count)
        }
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

    private static func grow(_ times: inout [Int], to count: Int) {
        if times.count < count { times.append(contentsOf: repeatElement(0, count: count - times.count)) }
    }
}
