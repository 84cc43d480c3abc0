/// The recommender's "now" in event time, robust to events stamped far ahead of the others.
///
/// Exposure decay and idle eviction follow the latest event time seen. One event stamped a year
/// ahead (a producer's broken clock) would otherwise rebase every exposure weight to that year —
/// wiping what was learned — and make every row look idle for a year. So a jump forward larger than
/// `maxStep` is believed only when `confirmations` events in a row agree that time has moved on
/// (a real gap: the stream resumes after a pause); until then such events are applied at the
/// current time. Time going backwards is accepted as is (partitions interleave; a late event
/// decays to almost nothing on its own). Pure and deterministic, its state is in the checkpoint.
public struct EventClock: Sendable, Equatable {
    /// The largest forward step taken without confirmation (event-time milliseconds).
    public let maxStep: Int64
    /// Consecutive events beyond `maxStep` needed before the clock jumps.
    public let confirmations: Int

    /// The latest accepted event time (0 before the first event).
    public private(set) var latest: Int64 = 0
    private var started = false
    /// The earliest time of the current run of events beyond `latest + maxStep`, and its length.
    private var pendingJump: Int64 = 0
    private var pendingCount = 0
    /// Events applied at `latest` instead of their own, later time (for reports).
    public private(set) var heldBack = 0

    public init(maxStep: Int64 = 600_000, confirmations: Int = 8) {
        precondition(maxStep >= 0 && confirmations >= 1)
        self.maxStep = maxStep
        self.confirmations = confirmations
    }

    /// Times are kept within ±2⁶⁰ ms (36 million years), so differences of two never overflow
    /// whatever a producer stamped on a message.
    static let limit: Int64 = 1 << 60

    /// The time at which to apply an event stamped `timestamp`.
    public mutating func admit(_ stamped: Int64) -> Int64 {
        let timestamp = min(max(stamped, -Self.limit), Self.limit)
        guard started else {
            started = true
            latest = timestamp
            return timestamp
        }
        if !isJump(to: timestamp) {
            pendingCount = 0
            latest = max(latest, timestamp)
            return timestamp
        }
        pendingJump = pendingCount == 0 ? timestamp : min(pendingJump, timestamp)
        pendingCount += 1
        if pendingCount >= confirmations {
            // Time really moved on: jump to the earliest time of the run.
            latest = pendingJump
            pendingCount = 0
            if !isJump(to: timestamp) {
                latest = max(latest, timestamp)
                return timestamp
            }
        }
        heldBack += 1
        return latest
    }

    private func isJump(to timestamp: Int64) -> Bool {
        guard timestamp > latest else { return false }
        let (step, overflow) = timestamp.subtractingReportingOverflow(latest)
        return overflow || step > maxStep
    }

    func writeState(to writer: inout StateWriter) {
        writer.write(started)
        writer.write(latest)
        writer.write(pendingJump)
        writer.write(pendingCount)
        writer.write(heldBack)
    }

    mutating func readState(from reader: inout StateReader) throws {
        started = try reader.readBool()
        latest = try reader.readTime("the event clock")
        pendingJump = try reader.readTime("the event clock's pending jump")
        pendingCount = try reader.readInt()
        heldBack = try reader.readInt()
        guard pendingCount >= 0, pendingCount < confirmations, heldBack >= 0 else {
            throw StateReadError("the event clock's pending run (\(pendingCount)) or held-back count (\(heldBack)) is out of range")
        }
    }
}
