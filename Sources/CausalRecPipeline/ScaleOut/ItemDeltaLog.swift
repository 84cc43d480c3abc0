/// Where instances exchange item deltas: one ordered log every instance writes to and reads all of
/// (a one-partition topic in a running service, a list in tests).
protocol ItemDeltaLog: AnyObject {
    /// Appends `values` (each keyed by the writing instance) in order and returns once the log
    /// holds all of them.
    func append(_ values: [[UInt8]], key: String) throws

    /// Reads from `offset`: to the end of the log when `toEnd` (what it holds when the read reaches
    /// it), else what arrived without waiting. Calls `body` in order; returns the offset after the
    /// last value read.
    func read(from offset: Int64, toEnd: Bool, _ body: ([UInt8]) throws -> Void) throws -> Int64
}
