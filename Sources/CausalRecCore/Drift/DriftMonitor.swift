/// Watches the stream for shift (README.md, "Drift alerts"): every `windowEvents` events it compares the
/// window's item-exposure and clicked-item distributions with a reference window
/// (Jensen–Shannon distance, PSI, share of exposure on new items), and it runs Page–Hinkley and
/// ADWIN on the prequential hit stream for falls. The reference is the first full window after
/// warm-up and is replaced by the current window after an alert; a cooldown keeps one shift to
/// one alert. Pure and deterministic: it sees only the numbers of each event
/// (`DriftObservation`), never the recommender.
package final class DriftMonitor {
    package let configuration: DriftConfiguration
    package private(set) var eventsSeen = 0
    /// The latest value of each window metric (for gauges and reports).
    package private(set) var latest: [String: Double] = [:]
    /// Metric values of every completed window, oldest first (for replay reports).
    package private(set) var history: [WindowMeasurement] = []

    package struct WindowMeasurement: Sendable, Equatable, Codable {
        package var endEventIndex: Int
        package var values: [String: Double]
    }

    private var window = WindowCounts()
    private var reference: WindowCounts?
    private var cooldownUntil = 0
    private var pageHinkley: PageHinkley
    private var adwin: AdaptiveWindow
    private var evaluatedSeen = 0
    /// After a hit-rate alert the window in progress mixes before and after the change, so it
    /// must not become the new reference; the next one does.
    private var skipNextReference = false
    private var hitsSeen = 0

    package init(configuration: DriftConfiguration) {
        self.configuration = configuration
        pageHinkley = PageHinkley(delta: configuration.pageHinkleyDelta, lambda: configuration.pageHinkleyLambda,
                                  minimumSamples: configuration.minimumHitSamples, horizon: configuration.pageHinkleyHorizon)
        adwin = AdaptiveWindow(delta: configuration.adwinDelta, minimumSubwindow: max(50, configuration.minimumHitSamples / 4))
    }

    /// Feeds one applied event (after the recommender applied it); returns the alerts it raised.
    package func observe(_ observation: DriftObservation) -> [DriftAlert] {
        eventsSeen += 1
        let timestamp = observation.time
        window.note(timestamp)
        for row in observation.exposedItems { window.exposure[row, default: 0] += 1 }
        if let row = observation.clickedItem { window.clicks[row, default: 0] += 1 }
        // Evicted rows will hold other items: their counts must not be compared with them.
        for row in observation.evictedItems {
            window.exposure[row] = nil
            window.clicks[row] = nil
            reference?.exposure[row] = nil
            reference?.clicks[row] = nil
        }
        var alerts: [DriftAlert] = []
        alerts += observeHits(observation.hitStream, timestamp: timestamp)
        window.events += 1
        if window.events >= configuration.windowEvents {
            alerts += closeWindow(timestamp: timestamp)
        }
        return alerts
    }

    private var coolingDown: Bool { eventsSeen < cooldownUntil }

    private func observeHits(_ total: HitRateWindow, timestamp: Int64) -> [DriftAlert] {
        guard total.evaluated > evaluatedSeen else { return [] }
        var alerts: [DriftAlert] = []
        let newHits = total.modelHits - hitsSeen
        for sample in 0..<(total.evaluated - evaluatedSeen) {
            let hit: Double = sample < newHits ? 1 : 0
            let pageHinkleySignal = pageHinkley.add(hit)
            let fall = adwin.add(hit)
            // The hit rate of a model still warming up swings widely: no alerts before the warm-up ends.
            guard !coolingDown, eventsSeen >= configuration.warmupEvents else { continue }
            if pageHinkleySignal {
                alerts.append(alert(metric: "hit_rate", value: configuration.pageHinkleyLambda, threshold: configuration.pageHinkleyLambda,
                                    method: "page_hinkley", timestamp: timestamp))
            } else if let fall, fall.olderMean - fall.newerMean >= configuration.minimumHitRateFall {
                alerts.append(alert(metric: "hit_rate", value: fall.olderMean - fall.newerMean, threshold: fall.bound,
                                    method: "adwin", timestamp: timestamp))
            }
        }
        evaluatedSeen = total.evaluated
        hitsSeen = total.modelHits
        return alerts
    }

    private func closeWindow(timestamp: Int64) -> [DriftAlert] {
        let closed = window
        window = WindowCounts()
        guard let reference else {
            if skipNextReference {
                skipNextReference = false
            } else if eventsSeen - closed.events >= configuration.warmupEvents {
                self.reference = closed
            }
            return []
        }
        var values: [String: Double] = [:]
        var candidates: [(metric: String, value: Double, threshold: Double, method: String)] = []
        if !closed.exposure.isEmpty && !reference.exposure.isEmpty {
            let (p, q, share) = Self.aligned(reference.exposure, closed.exposure)
            let js = DistributionDistance.jensenShannon(p, q)
            let psi = Self.binnedStability(reference.exposure, closed.exposure, bins: configuration.psiBins)
            values["exposure_js"] = js
            values["exposure_psi"] = psi
            values["new_item_share"] = share
            candidates.append(("exposure_js", js, configuration.exposureJSThreshold, "jensen_shannon"))
            candidates.append(("exposure_psi", psi, configuration.exposurePSIThreshold, "psi"))
            candidates.append(("new_item_share", share, configuration.newItemShareThreshold, "share"))
        }
        let minimumClicks = Double(max(1, configuration.minimumWindowClicks))
        if closed.clicks.values.reduce(0, +) >= minimumClicks && reference.clicks.values.reduce(0, +) >= minimumClicks {
            // Clicked-item popularity: the clicks' profile over the reference's popularity bins.
            let (p, q) = Self.popularityBins(reference.clicks, closed.clicks, bins: configuration.psiBins)
            let js = DistributionDistance.jensenShannon(p, q)
            let psi = Self.binnedStability(reference.clicks, closed.clicks, bins: configuration.psiBins)
            values["click_js"] = js
            values["click_psi"] = psi
            candidates.append(("click_js", js, configuration.clickJSThreshold, "jensen_shannon"))
            candidates.append(("click_psi", psi, configuration.clickPSIThreshold, "psi"))
        }
        latest.merge(values) { $1 }
        history.append(WindowMeasurement(endEventIndex: eventsSeen, values: values))
        if history.count > 100_000 { history.removeFirst(history.count - 100_000) }
        // One alert per window at most: the metric furthest past its threshold.
        guard !coolingDown,
              let worst = candidates.filter({ $0.value > $0.threshold }).max(by: { $0.value / $0.threshold < $1.value / $1.threshold })
        else { return [] }
        var raised = DriftAlert(metric: worst.metric, value: worst.value, threshold: worst.threshold, method: worst.method,
                                windowStart: closed.firstTimestamp ?? timestamp, windowEnd: closed.lastTimestamp ?? timestamp,
                                timestamp: timestamp, eventIndex: eventsSeen)
        raised.severity = worst.value >= 2 * worst.threshold ? "critical" : "warning"
        afterAlert()
        self.reference = closed
        return [raised]
    }

    private func alert(metric: String, value: Double, threshold: Double, method: String, timestamp: Int64) -> DriftAlert {
        let result = DriftAlert(metric: metric, value: value, threshold: threshold, method: method,
                                windowStart: window.firstTimestamp ?? timestamp, windowEnd: timestamp,
                                timestamp: timestamp, eventIndex: eventsSeen)
        afterAlert()
        // The distributions moved too (or will): compare against the first window that starts
        // after the alert.
        reference = nil
        skipNextReference = true
        return result
    }

    private func afterAlert() {
        cooldownUntil = eventsSeen + configuration.cooldownEvents
        pageHinkley.reset()
        adwin.reset()
    }

    /// Dense vectors over the union of keys, and the share of `current` on keys absent from
    /// `reference`.
    static func aligned(_ reference: [Int32: Double], _ current: [Int32: Double]) -> ([Double], [Double], Double) {
        var keys = Array(reference.keys)
        for key in current.keys where reference[key] == nil { keys.append(key) }
        keys.sort()
        let p = keys.map { reference[$0] ?? 0 }
        let q = keys.map { current[$0] ?? 0 }
        let total = current.values.reduce(0, +)
        let newMass = current.reduce(0.0) { $0 + (reference[$1.key] == nil ? $1.value : 0) }
        return (p, q, total > 0 ? newMass / total : 0)
    }

    /// Histograms over `bins` groups of items of equal reference mass (items ranked by reference
    /// count): a popularity profile, far less noisy than per-item counts when clicks are sparse.
    static func popularityBins(_ reference: [Int32: Double], _ current: [Int32: Double], bins: Int) -> (p: [Double], q: [Double]) {
        let ranked = reference.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
        let total = ranked.reduce(0.0) { $0 + $1.value }
        var binOf: [Int32: Int] = [:]
        binOf.reserveCapacity(ranked.count)
        var cumulative = 0.0
        for (item, count) in ranked {
            binOf[item] = min(bins - 1, Int(cumulative / total * Double(bins)))
            cumulative += count
        }
        var p = [Double](repeating: 0, count: bins)
        var q = [Double](repeating: 0, count: bins)
        for (item, count) in reference { p[binOf[item]!] += count }
        // Items the reference never saw join its tail bin: with sparse clicks a window always
        // holds some, and a bin of their own (reference share ≈ 0) would dominate the index.
        // Their share is reported separately (`new_item_share`).
        for (item, count) in current { q[binOf[item] ?? bins - 1] += count }
        return (p, q)
    }

    static func binnedStability(_ reference: [Int32: Double], _ current: [Int32: Double], bins: Int) -> Double {
        let (p, q) = popularityBins(reference, current, bins: bins)
        return DistributionDistance.populationStability(reference: p, current: q)
    }

    // MARK: State

    package func writeState(to writer: inout StateWriter) {
        writer.beginSection("DRFT")
        writer.write(eventsSeen)
        writer.write(cooldownUntil)
        writer.write(evaluatedSeen)
        writer.write(hitsSeen)
        window.writeState(to: &writer)
        writer.write(reference != nil)
        reference?.writeState(to: &writer)
        writer.write(skipNextReference)
        pageHinkley.writeState(to: &writer)
        adwin.writeState(to: &writer)
        let keys = latest.keys.sorted()
        writer.write(keys.count)
        for key in keys {
            writer.write(key)
            writer.write(latest[key]!)
        }
        writer.endSection()
    }

    package func readState(from reader: inout StateReader) throws {
        try reader.beginSection("DRFT")
        eventsSeen = try reader.readCounter("events the drift monitor saw")
        cooldownUntil = try reader.readCounter("the drift cooldown")
        evaluatedSeen = try reader.readCounter("evaluated clicks the drift monitor saw")
        hitsSeen = try reader.readCounter("hits the drift monitor saw")
        try StateCheck.require(hitsSeen <= evaluatedSeen, "the drift monitor's counters are inconsistent")
        window = try WindowCounts(readingFrom: &reader)
        reference = try reader.readBool() ? try WindowCounts(readingFrom: &reader) : nil
        skipNextReference = try reader.readBool()
        try pageHinkley.readState(from: &reader)
        try adwin.readState(from: &reader)
        let count = try reader.readCount(elementSize: 16, "drift values")
        latest = [:]
        var keys: [String] = []
        for _ in 0..<count {
            let key = try reader.readString()
            keys.append(key)
            latest[key] = try reader.readDouble()
        }
        try StateCheck.strictlyAscending(keys, "drift values")
        try reader.endSection()
        try StateCheck.require(window.events <= eventsSeen && (reference?.events ?? 0) <= eventsSeen,
                               "a drift window holds more events than the monitor saw")
    }

    /// The monitor cannot have seen more of the hit stream than the evaluator produced.
    package func validateRestored(evaluated total: HitRateWindow) throws {
        try StateCheck.require(evaluatedSeen <= total.evaluated && hitsSeen <= total.modelHits,
                               "the drift monitor saw \(evaluatedSeen) evaluated clicks, the evaluator only \(total.evaluated)")
    }
}

/// Counts of one window.
struct WindowCounts {
    var events = 0
    var exposure: [Int32: Double] = [:]
    var clicks: [Int32: Double] = [:]
    var firstTimestamp: Int64?
    var lastTimestamp: Int64?

    init() {}

    mutating func note(_ timestamp: Int64) {
        if firstTimestamp == nil { firstTimestamp = timestamp }
        lastTimestamp = timestamp
    }

    func writeState(to writer: inout StateWriter) {
        writer.write(events)
        for counts in [exposure, clicks] {
            let keys = counts.keys.sorted()
            writer.write(keys)
            writer.write(keys.map { counts[$0]! })
        }
        writer.write(firstTimestamp ?? Int64.min)
        writer.write(lastTimestamp ?? Int64.min)
    }

    init(readingFrom reader: inout StateReader) throws {
        events = try reader.readCounter("events of a drift window")
        var maps: [[Int32: Double]] = []
        for _ in 0..<2 {
            let keys = try reader.readInt32Array()
            let values = try reader.readDoubleArray()
            guard keys.count == values.count else { throw StateReadError("a drift window with \(keys.count) items and \(values.count) counts") }
            try StateCheck.strictlyAscending(keys, "the items of a drift window")
            try StateCheck.rows(keys, below: Int(Int32.max), "the items of a drift window")
            // Counts are whole numbers of events, each at least one.
            for value in values where !(value.isFinite && value >= 1 && value <= Double(StateReader.magnitudeLimit)) {
                throw StateReadError("a drift window holds a count of \(value)")
            }
            maps.append(Dictionary(uniqueKeysWithValues: zip(keys, values)))
        }
        exposure = maps[0]
        clicks = maps[1]
        let first = try reader.readInt64()
        let last = try reader.readInt64()
        for time in [first, last] where time != Int64.min && (time < -StateReader.magnitudeLimit || time > StateReader.magnitudeLimit) {
            throw StateReadError("a drift window's time \(time) is out of range")
        }
        firstTimestamp = first == Int64.min ? nil : first
        lastTimestamp = last == Int64.min ? nil : last
    }
}
