/// The retention part's checkpoint section: last-seen times, ids waiting for admission, the sweep
/// counter and the eviction counts.
extension RowRetention {
    func writeState(to writer: inout StateWriter) {
        writer.beginSection("RETN")
        writeTimesAndWaiting(to: &writer)
        writeCounters(to: &writer)
        writer.endSection()
    }

    func readState(from reader: inout StateReader, userCount: Int, itemCount: Int) throws {
        try reader.beginSection("RETN")
        try readTimesAndWaiting(from: &reader, userCount: userCount, itemCount: itemCount)
        try readCounters(from: &reader)
        try reader.endSection()
    }

    // The pieces, which the layouts before 5 wrote with the event clock between them.

    func writeTimesAndWaiting(to writer: inout StateWriter) {
        writer.write(userLastSeen)
        writer.write(itemLastSeen)
        for waiting in [waitingUsers, waitingItems] {
            writer.write(waiting.count)
            // Sorted: a dictionary's order differs from process to process.
            for (identifier, entry) in waiting.sorted(by: { $0.key < $1.key }) {
                writer.write(identifier)
                writer.write(entry.count)
                writer.write(entry.lastSeen)
            }
        }
    }

    func readTimesAndWaiting(from reader: inout StateReader, userCount: Int, itemCount: Int) throws {
        let users = try reader.readIntArray()
        let items = try reader.readIntArray()
        let limit = Int(StateReader.magnitudeLimit)
        for time in users + items where time < -limit || time > limit {
            throw StateReadError("a last-seen time of \(time) is out of range")
        }
        guard users.count == userCount, items.count == itemCount else {
            throw StateReadError("the last-seen times (\(users.count) users, \(items.count) items) disagree with the id tables")
        }
        var waiting: [[String: AdmissionCount]] = []
        for what in ["users waiting for admission", "items waiting for admission"] {
            let count = try reader.readCount(elementSize: 24, what)
            var entries: [String: AdmissionCount] = [:]
            var previous: String?
            for _ in 0..<count {
                let identifier = try reader.readString()
                // Sorted and unique, as written; counts are below the admission threshold.
                guard previous.map({ $0 < identifier }) ?? true, !identifier.isEmpty else {
                    throw StateReadError("\(what): ids are not sorted and unique")
                }
                previous = identifier
                let entry = AdmissionCount(count: try reader.readCounter(what), lastSeen: try reader.readTime(what))
                guard entry.count >= 1, entry.count <= 1 << 31 else { throw StateReadError("\(what): a count of \(entry.count)") }
                entries[identifier] = entry
            }
            waiting.append(entries)
        }
        userLastSeen = users
        itemLastSeen = items
        waitingUsers = waiting[0]
        waitingItems = waiting[1]
    }

    func writeCounters(to writer: inout StateWriter) {
        writer.write(eventsSinceSweep)
        writer.write(evictedUsers)
        writer.write(evictedItems)
    }

    func readCounters(from reader: inout StateReader) throws {
        eventsSinceSweep = try reader.readCounter("events since the last sweep")
        evictedUsers = try reader.readCounter("evicted users")
        evictedItems = try reader.readCounter("evicted items")
    }
}
