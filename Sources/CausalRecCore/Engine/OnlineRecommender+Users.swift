/// Users as units: export a set of users' whole state, import it into another recommender,
/// release it from the first (e.g. when the partition their events arrive on moves to another
/// instance). See `UserStateRecord` for what moves and what stays.
extension OnlineRecommender {
    /// The state of each of `identifiers` that has a row (others are skipped), in the given order.
    public func exportUsers(_ identifiers: [String]) -> [UserStateRecord] {
        let positives = training.positives(of: Set(identifiers.compactMap { users.row(for: $0) }))
        return identifiers.compactMap { identifier in
            guard let row = users.row(for: identifier) else { return nil }
            let (pending, recent) = positives[row] ?? ([], [])
            let positive = { (example: PositiveExample) in
                UserStateRecord.Positive(item: self.items.identifier(of: example.item), timestamp: example.timestamp,
                                         exposure: example.exposure)
            }
            return UserStateRecord(user: identifier, parameters: model.userParameters(row),
                                   clickedItems: history.clicked(by: row).map { items.identifier(of: $0) },
                                   shownItems: history.impressedNotClicked(by: row).map { items.identifier(of: $0) },
                                   lastSeen: Int64(retention.userLastSeen[Int(row)]),
                                   pendingPositives: pending.map(positive), recentPositives: recent.map(positive))
        }
    }

    /// Takes users over: each gets a row (an existing user of the same id is replaced), its
    /// parameters, history and positives. Items the records name that have no row here get one
    /// (at once, whatever the admission threshold: another instance already admitted them).
    public func importUsers(_ records: [UserStateRecord]) {
        precondition(records.allSatisfy { $0.parameters.embedding.count == model.dimension },
                     "a user record of another dimension")
        releaseUsers(records.map(\.user))
        for record in records {
            let row = newUserRow(record.user, at: record.lastSeen)
            model.setUserParameters(row, record.parameters)
            // With shared items the clicks are in the items' counts already (their instance counted them).
            for item in record.clickedItems {
                history.record(user: row, item: importedItem(item, at: record.lastSeen), counting: sharing == nil)
            }
            for item in record.shownItems { history.recordImpression(user: row, item: importedItem(item, at: record.lastSeen)) }
            let positive = { (imported: UserStateRecord.Positive) in
                PositiveExample(user: row, item: self.importedItem(imported.item, at: imported.timestamp),
                                timestamp: imported.timestamp, exposure: imported.exposure)
            }
            training.adopt(pending: record.pendingPositives.map(positive), recent: record.recentPositives.map(positive))
        }
        if !records.isEmpty { ranking.rowsReleased() }
    }

    /// Drops users' state without counting it as an eviction (their state lives on elsewhere).
    public func releaseUsers(_ identifiers: [String]) {
        let rows = identifiers.compactMap { users.row(for: $0) }
        release(RowRelease(users: rows), evicted: false)
    }

    /// The row of an item a moved user names: the existing one (seen now), or a new row.
    private func importedItem(_ identifier: String, at timestamp: Int64) -> Int32 {
        if let row = items.row(for: identifier) {
            retention.touchItem(row, at: timestamp)
            return row
        }
        return newItemRow(identifier, at: timestamp)
    }
}
