/// Ranking by intervention with the current exposure: score_i = g(x_i) · r_i^γ̃ (PDA's adjusted
/// ranking), with r_i the item's exposure relative to the mean item, floored.
///
/// The per-item log r_i is computed from the estimator at deterministic points (every
/// `refreshEvery` recorded exposures, like the popular lists) and kept in the checkpoint, so a
/// restored recommender ranks exactly as one that never stopped.
public struct ExposureAdjustment: Sendable, Equatable {
    /// log max(r_i, floor), one per item row.
    public private(set) var logExposure: [Float] = []
    private var version = -1

    public init() {}

    /// Fixed log relative counts (e.g. training clicks per item, popularity as the confounder):
    /// count over the mean count of all items, floored.
    public init(counts: [Int32], floor: Double) {
        let mean = counts.isEmpty ? 1 : max(Double(counts.reduce(0) { $0 + Int($1) }) / Double(counts.count), .leastNonzeroMagnitude)
        logExposure = Self.flooredLogs(count: counts.count, floor: floor) { Double(counts[$0]) / mean }
        version = Int.max
    }

    /// Brings the log exposures up to date when stale (or when rows were added).
    package mutating func refresh(from exposure: ExposureEstimator, floor: Double, refreshEvery: Int) {
        let current = exposure.recordedCount
        guard version < 0 || current - version >= refreshEvery || logExposure.count != exposure.itemCount else { return }
        logExposure = Self.flooredLogs(count: exposure.itemCount, floor: floor) { exposure.relativeExposure(of: Int32($0)) }
        version = current
    }

    /// log max(r, floor) for each item's relative exposure r.
    private static func flooredLogs(count: Int, floor: Double, relative: (Int) -> Double) -> [Float] {
        let logFloor = Float(_log(floor))
        return (0..<count).map { item in
            let value = relative(item)
            return value > floor ? Float(_log(value)) : logFloor
        }
    }

    /// Turns raw scores x into g(x) · r^γ̃ in place (γ̃ > 0), or leaves them (γ̃ = 0: the order
    /// of g(x) is the order of x).
    public func adjust(_ scores: UnsafeMutablePointer<Float>, count: Int, exponent: Double) {
        guard exponent > 0 else { return }
        let gamma = Float(exponent)
        let link = ScoreLink.eluPlusOne
        logExposure.withUnsafeBufferPointer { logs in
            for item in 0..<count {
                scores[item] = link.value(scores[item]) * (item < logs.count ? _expf(gamma * logs[item]) : 1)
            }
        }
    }

    /// r_i^γ̃ for the first `count` item rows (1 beyond the known ones): the fixed factors of an
    /// adjusted ranking, for callers that rank many users with the same exponent.
    public func factors(exponent: Double, count: Int) -> [Float] {
        let gamma = Float(exponent)
        return (0..<count).map { $0 < logExposure.count ? _expf(gamma * logExposure[$0]) : 1 }
    }

    /// The 0-based rank of `item` under exponent γ̃ among the non-excluded items, if below `k`
    /// — computed in log space without sorting (several exponents are compared per click).
    public func rank(of item: Int32, rawScores: UnsafePointer<Float>, count: Int, exponent: Double, k: Int,
                     excluding excluded: ExcludedItems) -> Int?
    {
        let gamma = Float(exponent)
        let link = ScoreLink.eluPlusOne
        return logExposure.withUnsafeBufferPointer { logs -> Int? in
            @inline(__always) func key(_ row: Int) -> Float {
                gamma == 0 ? rawScores[row] : link.logValue(rawScores[row]) + gamma * (row < logs.count ? logs[row] : 0)
            }
            let target = key(Int(item))
            var above = 0
            for row in 0..<count where row != Int(item) {
                let value = key(row)
                // Ties: a lower row ranks first (as the top-K selector orders them).
                guard value > target || (value == target && row < Int(item)) else { continue }
                if excluded.contains(Int32(row)) { continue }
                above += 1
                if above >= k { return nil }
            }
            return above
        }
    }

    // MARK: State

    func writeState(to writer: inout StateWriter) {
        writer.write(logExposure)
        writer.write(version)
    }

    mutating func readState(from reader: inout StateReader, itemCount: Int) throws {
        let logs = try reader.readFloatArray()
        let stored = try reader.readInt()
        try StateCheck.require(logs.isEmpty || logs.count <= itemCount, "the exposure adjustment has \(logs.count) items for \(itemCount)")
        try StateCheck.require(logs.allSatisfy(\.isFinite) && stored >= -1, "the exposure adjustment holds a value out of range")
        logExposure = logs
        version = stored
    }
}
