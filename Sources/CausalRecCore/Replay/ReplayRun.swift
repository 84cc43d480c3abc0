/// Test-then-train over one ordered event stream with several samplers side by side: every
/// sampler has its own model; each click is first ranked by every model (hit@K, NDCG@K) and then
/// learned. Scores are kept per window of `windowEvents` valid events, with the most-clicked-so-far
/// list as a floor, and a drift monitor watches the stream (its hit stream is the first sampler's).
/// Pure and deterministic: the same events and configuration give the same report.
public final class ReplayRun {
    public struct Configuration: Sendable {
        public var recommender: RecommenderConfiguration
        public var samplers: [SamplerConfiguration]
        public var windowEvents: Int
        public var drift: DriftConfiguration

        public init(recommender: RecommenderConfiguration, samplers: [SamplerConfiguration], windowEvents: Int,
                    drift: DriftConfiguration)
        {
            precondition(!samplers.isEmpty && windowEvents > 0)
            self.recommender = recommender
            self.samplers = samplers
            self.windowEvents = windowEvents
            self.drift = drift
        }
    }

    /// Click scores of one sampler (or of the popularity floor) over a span of events.
    public struct Score: Sendable, Equatable {
        public var evaluated = 0
        public var hits = 0
        public var ndcgSum = 0.0

        public init() {}

        public var hitRate: Double { evaluated == 0 ? 0 : Double(hits) / Double(evaluated) }
        public var ndcg: Double { evaluated == 0 ? 0 : ndcgSum / Double(evaluated) }

        mutating func add(rank: Int?) {
            evaluated += 1
            if rank != nil { hits += 1 }
            ndcgSum += ClickEvaluation.ndcg(rank: rank)
        }

        mutating func merge(_ other: Score) {
            evaluated += other.evaluated
            hits += other.hits
            ndcgSum += other.ndcgSum
        }
    }

    public struct Window: Sendable, Equatable {
        /// Valid replayed events before the window's first and after its last event.
        public var firstEvent: Int
        public var lastEvent: Int
        public var firstTimestamp: Int64
        public var lastTimestamp: Int64
        /// One per sampler, in the order of the configuration.
        public var samplers: [Score]
        public var popular = Score()
    }

    public let configuration: Configuration
    /// One engine per sampler, stepped on every event; the first also runs the drift monitor.
    public let engines: [StreamEngine]
    public var models: [OnlineRecommender] { engines.map(\.recommender) }
    public private(set) var windows: [Window] = []
    public private(set) var alerts: [DriftAlert] = []
    /// Events replayed with scoring (valid ones) and applied only to warm the models up.
    public private(set) var replayedEvents = 0
    public private(set) var warmupEvents = 0
    private var current: Window?

    public init(configuration: Configuration) {
        self.configuration = configuration
        engines = configuration.samplers.enumerated().map { index, sampler in
            var recommender = configuration.recommender
            recommender.sampler = sampler
            recommender.evaluateEveryNthClick = 1
            return StreamEngine(recommender: OnlineRecommender(configuration: recommender),
                                drift: index == 0 && configuration.drift.enabled ? configuration.drift : nil)
        }
    }

    /// The drift monitor (over the first sampler's hit stream), when drift detection is on.
    public var monitor: DriftMonitor? { engines.first?.drift }

    public var k: Int { configuration.recommender.evaluationK }

    /// Learns from an event without scoring it (e.g. a training log before the scored one).
    public func warm(_ event: Event, timestamp: Int64) {
        for engine in engines { engine.step(event, fallbackTimestamp: timestamp, mode: .train) }
        warmupEvents += 1
    }

    /// Test-then-train one event; returns the drift alerts it raised.
    @discardableResult
    public func replay(_ event: Event, timestamp: Int64) -> [DriftAlert] {
        let at = event.timestamp ?? timestamp
        if current == nil {
            current = Window(firstEvent: replayedEvents, lastEvent: replayedEvents, firstTimestamp: at, lastTimestamp: at,
                             samplers: Array(repeating: Score(), count: models.count))
        }
        var raised: [DriftAlert] = []
        for (index, engine) in engines.enumerated() {
            let step = engine.step(event, fallbackTimestamp: timestamp)
            if let evaluation = step.evaluation {
                current!.samplers[index].add(rank: evaluation.modelRank)
                if index == 0 { current!.popular.add(rank: evaluation.popularRank) }
            }
            raised += step.alerts
        }
        alerts += raised
        replayedEvents += 1
        current!.lastEvent = replayedEvents
        current!.lastTimestamp = at
        if replayedEvents - current!.firstEvent >= configuration.windowEvents { closeWindow() }
        return raised
    }

    /// Ends the last partial window and trains what is still pending, so the models are final.
    public func finish() {
        closeWindow()
        for model in models { model.flushTraining() }
    }

    private func closeWindow() {
        guard let window = current else { return }
        windows.append(window)
        current = nil
    }

    /// Scores over the whole replay: one per sampler, then the popularity floor.
    public func totals() -> (samplers: [Score], popular: Score) {
        var samplers = Array(repeating: Score(), count: models.count)
        var popular = Score()
        for window in windows + (current.map { [$0] } ?? []) {
            for index in samplers.indices { samplers[index].merge(window.samplers[index]) }
            popular.merge(window.popular)
        }
        return (samplers, popular)
    }
}
