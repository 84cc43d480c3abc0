/// The recommender's "now" in event time, robust to events stamped ahead of the others.
///
/// Exposure decay and idle eviction follow the latest event time seen. An event stamped ahead
/// of the stream (a producer's broken clock, or a forged `ts`) would otherwise rebase every
/// exposure weight to its time — a day ahead, one event outweighs ~2²⁴ current impressions at a
/// one-hour half-life — and make every row look idle. So the clock moves forward freely only by
/// up to `maxStep` at a time. An event further ahead is applied at the current time ("held
/// back"); a run of such events is believed to mean that time really moved on (the stream
/// resumed after a pause) only once `confirmations` of them in a row came from more than one
/// source (user), and even then each further event of the run moves the clock by at most
/// `maxStep`. A handful of forged events thus shift time by minutes, not days, while a real gap
/// is caught up within a few events per `maxStep`. Time going backwards is accepted as is
/// (partitions interleave; a late event decays to almost nothing on its own). No event is ever
/// applied ahead of the clock. Pure and deterministic; its state is in the checkpoint.
package struct EventClock: Sendable, Equatable {
    /// The largest forward step taken without confirmation, and per confirming event
    /// (event-time milliseconds).
    package let maxStep: Int64
    /// Consecutive events beyond `maxStep` needed before the clock moves toward them.
    package let confirmations: Int

    /// The latest accepted event time (0 before the first event).
    package private(set) var latest: Int64 = 0
    private var started = false
    /// The earliest time of the current run of events beyond `latest + maxStep`, its length,
    /// the source of its first event and whether another source has joined it since.
    private var pendingJump: Int64 = 0
    private var pendingCount = 0
    private var pendingSource: UInt64 = 0
    private var pendingFromSeveralSources = false
    /// Events applied at `latest` instead of their own, later time (for reports and metrics).
    package private(set) var heldBack = 0

    package init(maxStep: Int64 = 600_000, confirmations: Int = 8) {
        precondition(maxStep >= 0 && confirmations >= 1)
        self.maxStep = maxStep
        self.confirmations = confirmations
    }

    /// Times are kept within ±2⁶⁰ ms (36 million years), so differences of two never overflow
    /// whatever a producer stamped on a message.
    static let limit: Int64 = 1 << 60

    /// The time at which to apply an event stamped `stamped` that came from `source` (the
    /// event's user: its partition key, so events of one source are one producer's word).
    package mutating func admit(_ stamped: Int64, from source: String) -> Int64 {
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
        let key = StableKey.of(source)
        if pendingCount == 0 {
            pendingJump = timestamp
            pendingSource = key
            pendingFromSeveralSources = false
        } else {
            pendingJump = min(pendingJump, timestamp)
            if key != pendingSource { pendingFromSeveralSources = true }
        }
        pendingCount = min(pendingCount + 1, confirmations)
        if pendingCount >= confirmations && pendingFromSeveralSources {
            // Time has moved on: one bounded step toward the earliest time of the run.
            let (target, overflow) = latest.addingReportingOverflow(maxStep)
            latest = overflow ? pendingJump : min(pendingJump, target)
            if !isJump(to: timestamp) {
                pendingCount = 0
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
        writer.write(pendingSource)
        writer.write(pendingFromSeveralSources)
    }

    /// `layout`: the stored state layout (layout 3 kept no sources: a run in progress then
    /// restarts its count of sources from its first event's).
    mutating func readState(from reader: inout StateReader, layout: Int) throws {
        started = try reader.readBool()
        latest = try reader.readTime("the event clock")
        pendingJump = try reader.readTime("the event clock's pending jump")
        pendingCount = try reader.readInt()
        heldBack = try reader.readInt()
        if layout >= 4 {
            pendingSource = try reader.readUInt64()
            pendingFromSeveralSources = try reader.readBool()
        } else {
            pendingSource = 0
            pendingFromSeveralSources = false
        }
        guard pendingCount >= 0, pendingCount <= confirmations, heldBack >= 0 else {
            throw StateReadError("the event clock's pending run (\(pendingCount)) or held-back count (\(heldBack)) is out of range")
        }
    }
}
