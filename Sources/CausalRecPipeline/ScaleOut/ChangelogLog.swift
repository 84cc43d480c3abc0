/// Where the users' changelog lives: the compacted topic in a running service, a list in tests.
/// One log partition per input partition (co-partitioned: input partition p's users are in
/// changelog partition p).
protocol ChangelogLog: AnyObject {
    /// Appends `records` to `partition` in order and returns once the log holds all of them (a
    /// flush step waits for this before the next step).
    func append(_ records: [ChangelogRecord], partition: Int32) throws

    /// Reads `partition` from `offset` to its end (what it holds when the read reaches it),
    /// calling `body` in offset order; returns the offset after the last record read.
    @discardableResult
    func read(partition: Int32, from offset: Int64, _ body: (ChangelogRecord) throws -> Void) throws -> Int64
}
