/// Hit counts of one stretch of the stream.
public struct HitRateWindow: Sendable, Equatable, Codable {
    /// Index (0-based, in applied events) of the first event in the window.
    public var firstEvent: Int
    public var lastEvent: Int
    public var evaluated: Int = 0
    public var modelHits: Int = 0
    /// Hits of the most-popular recommender (click counts so far) on the same clicks.
    public var popularHits: Int = 0

    public init(firstEvent: Int, lastEvent: Int, evaluated: Int = 0, modelHits: Int = 0, popularHits: Int = 0) {
        self.firstEvent = firstEvent
        self.lastEvent = lastEvent
        self.evaluated = evaluated
        self.modelHits = modelHits
        self.popularHits = popularHits
    }

    public var modelHitRate: Double { evaluated == 0 ? 0 : Double(modelHits) / Double(evaluated) }
    public var popularHitRate: Double { evaluated == 0 ? 0 : Double(popularHits) / Double(evaluated) }

    public mutating func merge(_ other: HitRateWindow) {
        firstEvent = min(firstEvent, other.firstEvent)
        lastEvent = max(lastEvent, other.lastEvent)
        evaluated += other.evaluated
        modelHits += other.modelHits
        popularHits += other.popularHits
    }
}

/// Test-then-train accounting: for sampled clicks, was the clicked item in the model's top-K
/// (and in the most-popular top-K) just before the model learned from it? Kept per window of
/// `windowSize` evaluated clicks, with a bounded number of windows.
public struct PrequentialEvaluator: Sendable, Equatable, Codable {
    public let k: Int
    public let sampleEvery: Int
    public let windowSize: Int
    public let maxWindows: Int
    public private(set) var windows: [HitRateWindow] = []
    public private(set) var total = HitRateWindow(firstEvent: 0, lastEvent: 0)
    private var clicksSeen = 0

    public init(k: Int, sampleEvery: Int, windowSize: Int = 100, maxWindows: Int = 10_000) {
        precondition(k > 0 && sampleEvery > 0 && windowSize > 0)
        self.k = k
        self.sampleEvery = sampleEvery
        self.windowSize = windowSize
        self.maxWindows = maxWindows
    }

    /// Whether the next click should be evaluated (every `sampleEvery`-th click; deterministic).
    public mutating func shouldEvaluateNextClick() -> Bool {
        defer { clicksSeen += 1 }
        return clicksSeen % sampleEvery == 0
    }

    public mutating func record(eventIndex: Int, modelHit: Bool, popularHit: Bool) {
        if windows.isEmpty || windows[windows.count - 1].evaluated >= windowSize {
            windows.append(HitRateWindow(firstEvent: eventIndex, lastEvent: eventIndex))
            if windows.count > maxWindows { windows.removeFirst(windows.count - maxWindows) }
        }
        var sample = HitRateWindow(firstEvent: eventIndex, lastEvent: eventIndex, evaluated: 1,
                                   modelHits: modelHit ? 1 : 0, popularHits: popularHit ? 1 : 0)
        windows[windows.count - 1].merge(sample)
        if total.evaluated == 0 { total.firstEvent = eventIndex }
        sample.firstEvent = total.firstEvent
        total.merge(sample)
    }

    /// Aggregate of the windows that start at or after `eventIndex`.
    public func summary(fromEvent eventIndex: Int) -> HitRateWindow {
        var result = HitRateWindow(firstEvent: eventIndex, lastEvent: eventIndex)
        for window in windows where window.firstEvent >= eventIndex {
            result.merge(window)
        }
        return result
    }

    // MARK: State

    public func writeState(to writer: inout StateWriter) {
        writer.beginSection("PREQ")
        writer.write(windows.count + 1)
        for window in [total] + windows {
            writer.write(window.firstEvent)
            writer.write(window.lastEvent)
            writer.write(window.evaluated)
            writer.write(window.modelHits)
            writer.write(window.popularHits)
        }
        writer.write(clicksSeen)
        writer.endSection()
    }

    public mutating func readState(from reader: inout StateReader) throws {
        try reader.beginSection("PREQ")
        let count = try reader.readCount(elementSize: 40, "hit-rate windows")
        guard count >= 1 else { throw StateReadError("hit-rate windows: the total is missing") }
        var read: [HitRateWindow] = []
        for _ in 0..<count {
            let window = HitRateWindow(firstEvent: try reader.readCounter("a hit-rate window's first event"),
                                       lastEvent: try reader.readCounter("a hit-rate window's last event"),
                                       evaluated: try reader.readCounter("a hit-rate window's clicks"),
                                       modelHits: try reader.readCounter("a hit-rate window's hits"),
                                       popularHits: try reader.readCounter("a hit-rate window's popular hits"))
            guard window.firstEvent <= window.lastEvent, window.modelHits <= window.evaluated, window.popularHits <= window.evaluated else {
                throw StateReadError("a hit-rate window with inconsistent counts (\(window))")
            }
            read.append(window)
        }
        var windowed = 0
        for window in read.dropFirst() {
            windowed += window.evaluated
            guard windowed <= read[0].evaluated else {
                throw StateReadError("the hit-rate windows hold more evaluated clicks than their total \(read[0].evaluated)")
            }
        }
        let seen = try reader.readCounter("clicks seen by the evaluator")
        try reader.endSection()
        total = read[0]
        windows = Array(read.dropFirst().suffix(maxWindows))
        clicksSeen = seen
    }

    /// Clicks the evaluator has seen (evaluated or not).
    var clicksObserved: Int { clicksSeen }
}
