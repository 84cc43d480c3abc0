/// ADWIN (Bifet & Gavaldà 2007), one-sided: keeps a window of recent values in an exponential
/// histogram (buckets of 2^k values, at most `maxBuckets` per size, so memory is O(log n)) and
/// drops its older part whenever the older part's mean is higher than the newer part's by more
/// than a bound that holds with confidence 1 − δ. Only falls are reported; a significant rise
/// shrinks the window too (the old level is obsolete) but is not a signal.
package struct AdaptiveWindow: Sendable, Equatable {
    struct Bucket: Sendable, Equatable {
        var total: Double
        var variance: Double
        var count: Int
    }

    package let delta: Double
    package let maxBuckets: Int
    /// Values between two cut checks (checking every value is O(log n) each).
    package let checkEvery: Int
    package let minimumSubwindow: Int
    /// Buckets per level, oldest first; level k holds buckets of 2^k values.
    private var levels: [[Bucket]] = []
    package private(set) var width = 0
    package private(set) var total = 0.0
    /// Sum of squared deviations from the mean over the window (Welford's M2).
    package private(set) var variance = 0.0
    private var sinceCheck = 0

    package init(delta: Double, maxBuckets: Int = 5, checkEvery: Int = 32, minimumSubwindow: Int = 50) {
        self.delta = delta
        self.maxBuckets = maxBuckets
        self.checkEvery = checkEvery
        self.minimumSubwindow = minimumSubwindow
    }

    package var mean: Double { width > 0 ? total / Double(width) : 0 }

    /// A detected fall: the dropped older part's mean, the kept newer part's, and the bound
    /// their difference exceeded.
    package struct Fall: Sendable, Equatable {
        package var olderMean: Double
        package var newerMean: Double
        package var bound: Double
    }

    /// Adds a value; returns the fall when the window's older part had a significantly higher mean.
    package mutating func add(_ value: Double) -> Fall? {
        insert(value)
        compress()
        sinceCheck += 1
        guard sinceCheck >= checkEvery else { return nil }
        sinceCheck = 0
        return cutIfChanged()
    }

    private mutating func insert(_ value: Double) {
        if levels.isEmpty { levels.append([]) }
        levels[0].append(Bucket(total: value, variance: 0, count: 1))
        // Welford: `variance` holds the sum of squared deviations (M2) of the whole window.
        let oldMean = mean
        let newMean = (total + value) / Double(width + 1)
        variance += (value - oldMean) * (value - newMean)
        width += 1
        total += value
    }

    /// Merges the two oldest buckets of a level when it holds more than `maxBuckets`.
    private mutating func compress() {
        var level = 0
        while level < levels.count {
            guard levels[level].count > maxBuckets else { break }
            let a = levels[level].removeFirst()
            let b = levels[level].removeFirst()
            let count = a.count + b.count
            let difference = a.total / Double(a.count) - b.total / Double(b.count)
            let merged = Bucket(total: a.total + b.total,
                                variance: a.variance + b.variance + Double(a.count * b.count) / Double(count) * difference * difference,
                                count: count)
            if level + 1 == levels.count { levels.append([]) }
            levels[level + 1].append(merged)
            level += 1
        }
    }

    /// Walks cut points from the oldest bucket forward; drops the old part at the first
    /// significant difference. Returns true when that difference was a fall.
    private mutating func cutIfChanged() -> Fall? {
        var fall: Fall?
        var changed = true
        while changed && width > 2 * minimumSubwindow {
            changed = false
            var oldCount = 0
            var oldTotal = 0.0
            // Oldest buckets are at the highest level, first in each level.
            outer: for level in stride(from: levels.count - 1, through: 0, by: -1) {
                for bucket in levels[level] {
                    oldCount += bucket.count
                    oldTotal += bucket.total
                    let newCount = width - oldCount
                    guard oldCount >= minimumSubwindow, newCount >= minimumSubwindow else { continue }
                    let oldMean = oldTotal / Double(oldCount)
                    let newMean = (total - oldTotal) / Double(newCount)
                    let limit = bound(oldCount: oldCount, newCount: newCount)
                    if abs(oldMean - newMean) > limit {
                        if oldMean > newMean && fall == nil { fall = Fall(olderMean: oldMean, newerMean: newMean, bound: limit) }
                        dropOldest(oldCount)
                        changed = true
                        break outer
                    }
                }
            }
        }
        return fall
    }

    private func bound(oldCount: Int, newCount: Int) -> Double {
        let n = Double(width)
        let m = 1 / (1 / Double(oldCount) + 1 / Double(newCount))
        let deltaPrime = delta / _log(max(n, 2))
        let logTerm = _log(2 / deltaPrime)
        let windowVariance = width > 1 ? variance / n : 0
        return (2 / m * windowVariance * logTerm).squareRoot() + 2 / (3 * m) * logTerm
    }

    /// Removes whole buckets, oldest first, until `count` values are gone (bucket boundaries
    /// always line up with the cut, which is taken at a bucket boundary).
    private mutating func dropOldest(_ count: Int) {
        var remaining = count
        for level in stride(from: levels.count - 1, through: 0, by: -1) {
            while remaining > 0, let bucket = levels[level].first {
                levels[level].removeFirst()
                remaining -= bucket.count
                removeFromTotals(bucket)
            }
        }
        while let last = levels.last, last.isEmpty, levels.count > 1 { levels.removeLast() }
    }

    private mutating func removeFromTotals(_ bucket: Bucket) {
        let oldWidth = width
        width -= bucket.count
        guard width > 0 else {
            total = 0
            variance = 0
            return
        }
        let bucketMean = bucket.total / Double(bucket.count)
        let restMean = (total - bucket.total) / Double(width)
        variance -= bucket.variance + Double(bucket.count * width) / Double(oldWidth) * (bucketMean - restMean) * (bucketMean - restMean)
        variance = max(0, variance)
        total -= bucket.total
    }

    package mutating func reset() {
        levels = []
        width = 0
        total = 0
        variance = 0
        sinceCheck = 0
    }

    package func writeState(to writer: inout StateWriter) {
        writer.write(levels.count)
        for level in levels {
            writer.write(level.count)
            for bucket in level {
                writer.write(bucket.total)
                writer.write(bucket.variance)
                writer.write(bucket.count)
            }
        }
        writer.write(width)
        writer.write(total)
        writer.write(variance)
        writer.write(sinceCheck)
    }

    package mutating func readState(from reader: inout StateReader) throws {
        let levelCount = try reader.readCount(elementSize: 8, "ADWIN levels")
        try StateCheck.require(levelCount <= 60, "ADWIN: \(levelCount) levels")
        var read: [[Bucket]] = []
        var counted = 0
        for levelIndex in 0..<levelCount {
            let count = try reader.readCount(elementSize: 24, "ADWIN buckets")
            try StateCheck.require(count <= maxBuckets + 1, "ADWIN: \(count) buckets at level \(levelIndex)")
            var level: [Bucket] = []
            for _ in 0..<count {
                let bucket = Bucket(total: try reader.readFiniteDouble("an ADWIN bucket's total"),
                                    variance: try reader.readFiniteDouble("an ADWIN bucket's variance"), count: try reader.readInt())
                // Level k holds buckets of exactly 2^k values.
                try StateCheck.require(bucket.count == 1 << levelIndex && bucket.variance >= 0, "ADWIN: a malformed bucket at level \(levelIndex)")
                counted += bucket.count
                level.append(bucket)
            }
            read.append(level)
        }
        let width = try reader.readInt()
        let total = try reader.readFiniteDouble("ADWIN's total")
        let variance = try reader.readFiniteDouble("ADWIN's variance")
        let sinceCheck = try reader.readInt()
        try StateCheck.require(width == counted && variance >= 0 && sinceCheck >= 0 && sinceCheck < max(checkEvery, 1),
                               "ADWIN's window (width \(width) for \(counted) values, check counter \(sinceCheck)) is inconsistent")
        levels = read
        self.width = width
        self.total = total
        self.variance = variance
        self.sinceCheck = sinceCheck
    }
}
