/// Page–Hinkley test for a fall in the mean of a stream (one-sided): accumulates how far each
/// value lies below the running mean (minus a tolerance δ) and signals when that sum rises more
/// than λ above its minimum. Rises in the mean (a model that learns) never signal.
///
/// The mean fades: after `horizon` values it is an exponential average over about that many, so
/// a slow trend (a hit rate that sinks as users run out of unseen relevant items) is followed
/// instead of being compared with the stream's distant past; an abrupt fall still is not.
package struct PageHinkley: Sendable, Equatable {
    package let delta: Double
    package let lambda: Double
    /// Values seen before a signal is possible (the mean must settle first).
    package let minimumSamples: Int
    /// Values the running mean spans once it fades.
    package let horizon: Int
    package private(set) var count = 0
    package private(set) var mean = 0.0
    package private(set) var cumulative = 0.0
    package private(set) var minimum = 0.0

    package init(delta: Double, lambda: Double, minimumSamples: Int = 30, horizon: Int = 5_000) {
        precondition(horizon > 0)
        self.delta = delta
        self.lambda = lambda
        self.minimumSamples = minimumSamples
        self.horizon = horizon
    }

    /// The current test statistic (cumulative − its minimum).
    package var statistic: Double { cumulative - minimum }

    /// Adds a value; true when the fall is detected (the test then starts over).
    package mutating func add(_ value: Double) -> Bool {
        count += 1
        mean += (value - mean) / Double(min(count, horizon))
        cumulative += mean - value - delta
        minimum = min(minimum, cumulative)
        if count >= minimumSamples && statistic > lambda {
            reset()
            return true
        }
        return false
    }

    package mutating func reset() {
        count = 0
        mean = 0
        cumulative = 0
        minimum = 0
    }

    package func writeState(to writer: inout StateWriter) {
        writer.write(count)
        writer.write(mean)
        writer.write(cumulative)
        writer.write(minimum)
    }

    package mutating func readState(from reader: inout StateReader) throws {
        count = try reader.readCounter("Page–Hinkley's count")
        mean = try reader.readFiniteDouble("Page–Hinkley's mean")
        cumulative = try reader.readFiniteDouble("Page–Hinkley's sum")
        minimum = try reader.readFiniteDouble("Page–Hinkley's minimum")
        try StateCheck.require(minimum <= 0 && minimum <= cumulative, "Page–Hinkley's minimum \(minimum) is above its sum or zero")
    }
}
