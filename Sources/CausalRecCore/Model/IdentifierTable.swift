/// Maps external string ids to dense row numbers, assigned in order of first sight.
public struct IdentifierTable: Sendable {
    private var rows: [String: Int32] = [:]
    public private(set) var identifiers: [String] = []

    public init() {}

    public var count: Int { identifiers.count }

    public func row(for identifier: String) -> Int32? {
        rows[identifier]
    }

    /// The row of `identifier`, adding it when it is new.
    public mutating func insert(_ identifier: String) -> (row: Int32, inserted: Bool) {
        if let row = rows[identifier] { return (row, false) }
        let row = Int32(identifiers.count)
        rows[identifier] = row
        identifiers.append(identifier)
        return (row, true)
    }

    public func identifier(of row: Int32) -> String {
        identifiers[Int(row)]
    }

    // MARK: State

    public func writeState(to writer: inout StateWriter) {
        writer.write(identifiers.count)
        for identifier in identifiers { writer.write(identifier) }
    }

    public mutating func readState(from reader: inout StateReader, _ what: String) throws {
        let count = try reader.readCount(elementSize: 8, what)
        var table = IdentifierTable()
        table.rows.reserveCapacity(count)
        table.identifiers.reserveCapacity(count)
        for _ in 0..<count {
            let identifier = try reader.readString()
            guard table.insert(identifier).inserted else {
                throw StateReadError("\(what): the id '\(identifier)' appears twice")
            }
        }
        self = table
    }
}
