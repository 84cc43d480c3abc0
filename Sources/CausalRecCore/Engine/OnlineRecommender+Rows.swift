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
            if !freeItemsSorted.isEmpty { freeItemsSorted = items.freeRows.sorted() }
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

    private static func grow(_ times: inout [Int], to count: Int) {
        if times.count < count { times.append(contentsOf: repeatElement(0, count: count - times.count)) }
    }
}
