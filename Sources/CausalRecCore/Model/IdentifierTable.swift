/// Maps external string ids to dense row numbers. Rows are assigned in order of first sight; a
/// removed id frees its row, and freed rows are reused (last freed first) before the table grows,
/// so a stream with churn keeps a bounded number of rows.
package struct IdentifierTable: Sendable {
    private var rows: [String: Int32] = [:]
    /// The id of each row; "" for a free row.
    package private(set) var identifiers: [String] = []
    /// Free rows, reused from the end.
    package private(set) var freeRows: [Int32] = []

    package init() {}

    /// Rows in use or free (the size of every table indexed by row).
    package var count: Int { identifiers.count }
    /// Ids with a row.
    package var activeCount: Int { rows.count }

    package func row(for identifier: String) -> Int32? {
        rows[identifier]
    }

    /// The row of `identifier`, adding it when it is new (into a free row if there is one;
    /// `reused` tells the caller to reinitialise what the row indexes).
    package mutating func insert(_ identifier: String) -> (row: Int32, inserted: Bool) {
        if let row = rows[identifier] { return (row, false) }
        if let row = freeRows.popLast() {
            rows[identifier] = row
            identifiers[Int(row)] = identifier
            return (row, true)
        }
        let row = Int32(identifiers.count)
        rows[identifier] = row
        identifiers.append(identifier)
        return (row, true)
    }

    /// Frees the row of `identifier`; nil when it has none.
    @discardableResult
    package mutating func remove(_ identifier: String) -> Int32? {
        guard let row = rows.removeValue(forKey: identifier) else { return nil }
        identifiers[Int(row)] = ""
        freeRows.append(row)
        return row
    }

    package func isActive(_ row: Int32) -> Bool {
        !identifiers[Int(row)].isEmpty
    }

    package func identifier(of row: Int32) -> String {
        identifiers[Int(row)]
    }

    // MARK: State

    package func writeState(to writer: inout StateWriter) {
        writer.write(identifiers.count)
        for identifier in identifiers { writer.write(identifier) }
        writer.write(freeRows)
    }

    package mutating func readState(from reader: inout StateReader, _ what: String) throws {
        let count = try reader.readCount(elementSize: 8, what)
        var table = IdentifierTable()
        table.rows.reserveCapacity(count)
        table.identifiers.reserveCapacity(count)
        for row in 0..<count {
            let identifier = try reader.readString()
            table.identifiers.append(identifier)
            guard !identifier.isEmpty else { continue }
            guard table.rows.updateValue(Int32(row), forKey: identifier) == nil else {
                throw StateReadError("\(what): the id '\(identifier)' appears twice")
            }
        }
        table.freeRows = try reader.readInt32Array()
        let free = table.identifiers.indices.filter { table.identifiers[$0].isEmpty }.map { Int32($0) }
        guard free == table.freeRows.sorted() else {
            throw StateReadError("\(what): the free rows disagree with the rows without an id")
        }
        self = table
    }
}
