/// Thresholds and windows of the drift monitor (README.md, "Drift alerts"). Windows count events (valid
/// events applied), not wall time, so a replay raises the same alerts as the live run.
public struct DriftConfiguration: Sendable, Equatable {
    public var enabled = true
    /// Events per comparison window.
    public var windowEvents = 50_000
    /// Events before the reference window may start (the first full window after this).
    public var warmupEvents = 50_000
    /// After an alert, no further alert for this many events (one shift, one alert).
    public var cooldownEvents = 200_000
    /// Jensen–Shannon distance (base 2, 0…1) of per-item exposure, current vs. reference window.
    public var exposureJSThreshold = 0.3
    /// PSI of exposure over bins of equal reference mass (items new since the reference count
    /// in the tail bin).
    public var exposurePSIThreshold = 0.5
    /// Jensen–Shannon distance and PSI of clicked-item popularity: the window's clicks over the
    /// reference's popularity bins.
    public var clickJSThreshold = 0.45
    public var clickPSIThreshold = 1.0
    /// Share of the window's exposure on items absent from the reference window.
    public var newItemShareThreshold = 0.5
    /// Clicks a window (and its reference) must hold before its clicked-item distribution is
    /// compared: a handful of clicks differs from any other handful by chance alone.
    public var minimumWindowClicks = 200
    /// Bins of equal reference mass for PSI.
    public var psiBins = 10
    /// Page–Hinkley on the prequential hit stream: tolerance δ and threshold λ (in hits). The
    /// statistic grows only while the hit rate sits more than δ below its running mean, so δ is
    /// the size of fall that is tolerated (a learning model's hit rate drifts down slowly as users
    /// run out of unseen relevant items: −0.1 over 1M simulator events). For an i.i.d. stream the
    /// chance of a false excursion is about exp(−2δλ / p(1−p)) ≈ 10⁻¹² at p = 0.25; a fall of 0.2
    /// is found within ~350 evaluated clicks.
    public var pageHinkleyDelta = 0.05
    public var pageHinkleyLambda = 50.0
    /// Evaluated clicks the Page–Hinkley running mean spans (it fades beyond that).
    public var pageHinkleyHorizon = 5_000
    /// ADWIN confidence δ on the same stream.
    public var adwinDelta = 0.002
    /// The smallest fall of the hit rate ADWIN alerts on: over long windows it finds falls that
    /// are significant but too small to act on (a learning model's hit rate wanders by ~0.02).
    public var minimumHitRateFall = 0.05
    /// Hit samples before the sequential detectors may signal.
    public var minimumHitSamples = 500

    public init() {}
}

/// One alert, in the fields of the alerts topic (README.md, "Events and outputs").
public struct DriftAlert: Sendable, Equatable, Codable {
    public var metric: String
    public var value: Double
    public var threshold: Double
    public var method: String
    public var severity: String
    /// Event time (epoch ms) of the compared window's first and last event.
    public var windowStart: Int64
    public var windowEnd: Int64
    /// Event time of the event that completed the detection.
    public var timestamp: Int64
    /// Valid events applied when the alert fired (its position in the stream).
    public var eventIndex: Int

    public init(metric: String, value: Double, threshold: Double, method: String, windowStart: Int64, windowEnd: Int64,
                timestamp: Int64, eventIndex: Int)
    {
        self.metric = metric
        self.value = value
        self.threshold = threshold
        self.method = method
        self.severity = value >= 2 * threshold ? "critical" : "warning"
        self.windowStart = windowStart
        self.windowEnd = windowEnd
        self.timestamp = timestamp
        self.eventIndex = eventIndex
    }
}
