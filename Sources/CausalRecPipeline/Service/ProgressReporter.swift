import CausalRecCore
import Logging

/// The one-line progress summary at a fixed interval: throughput, lag, dead letters, events
/// held back by the event clock, outputs, and the prequential hit-rate of the clicks evaluated since the previous line.
struct ProgressReporter {
    let interval: Duration
    private var last: ContinuousClock.Instant
    private var lastMessages = 0
    private var lastWindowCount = 0

    init(interval: Duration, start: ContinuousClock.Instant) {
        self.interval = interval
        self.last = start
    }

    func isDue(_ now: ContinuousClock.Instant) -> Bool {
        now - last >= interval
    }

    mutating func report(now: ContinuousClock.Instant, counters: ProcessingCounters, lag: Int64,
                         evaluator: PrequentialEvaluator, logger: Logger)
    {
        let messages = counters.messages.load(ordering: .relaxed)
        let seconds = (now - last).inSeconds
        let rate = seconds > 0 ? Double(messages - lastMessages) / seconds : 0
        var recent = HitRateWindow(firstEvent: 0, lastEvent: 0)
        for window in evaluator.windows.dropFirst(max(0, min(lastWindowCount, evaluator.windows.count) - 1)) {
            recent.merge(window)
        }
        if recent.evaluated == 0 { recent = evaluator.total }
        let hitRate = recent.evaluated > 0
            ? "\(Self.format(recent.modelHitRate)) (most-popular \(Self.format(recent.popularHitRate)), \(recent.evaluated) clicks)"
            : "n/a"
        logger.info("progress events=\(messages) rate=\(Int(rate))/s lag=\(lag) dlq=\(counters.deadLettered.load(ordering: .relaxed)) held_back=\(counters.heldBack.load(ordering: .relaxed)) recommendations=\(counters.recommendationsPublished.load(ordering: .relaxed)) model_version=\(counters.modelVersion.load(ordering: .relaxed)) hit_rate@\(evaluator.k)=\(hitRate)")
        last = now
        lastMessages = messages
        lastWindowCount = evaluator.windows.count
    }

    static func format(_ value: Double) -> String {
        let scaled = (value * 1000).rounded() / 1000
        return String(scaled)
    }
}
