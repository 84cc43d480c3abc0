/// Test-then-train over one ordered event stream with several samplers side by side: every
/// sampler has its own model; each click is first ranked by every model (hit@K, NDCG@K) and then
/// learned. Scores are kept per window of `windowEvents` valid events, with two peers beside the
/// models — the most-clicked-so-far list and decayed popularity (several half-lives, one chosen on
/// the stream's first part) — and a drift monitor watches the stream (its hit stream is the first
/// sampler's).
/// Pure and deterministic: the same events and configuration give the same report.
public final class ReplayRun {
    public struct Configuration: Sendable {
        public var recommender: RecommenderConfiguration
        public var samplers: [SamplerConfiguration]
        public var windowEvents: Int
        public var drift: DriftConfiguration
        /// Half-lives (in clicks) of the decayed-popularity peer.
        public var decayedHalfLives: [Int] = [1_000, 3_000, 10_000, 30_000, 100_000]
        /// Share of the replayed events whose windows choose the peer's half-life.
        public var peerSelectionShare = 0.2

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
        /// The decayed-popularity peer, one per half-life.
        public var decayed: [Score]
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
    private var decayedPopularity: DecayedPopularity

    public init(configuration: Configuration) {
        self.configuration = configuration
        decayedPopularity = DecayedPopularity(halfLives: configuration.decayedHalfLives)
        engines = configuration.samplers.enumerated().map { index, sampler in
            var recommender = configuration.recommender
            recommender.sampler = sampler
            recommender.evaluateEveryNthClick = 1
            return StreamEngine(recommender: OnlineRecommender(configuration: recommender),
                                drift: index == 0 && configuration.drift.enabled ? configuration.drift : nil)
        }
    }

    /// The drift monitor (over the first sampler's hit stream), when drift detection is on.
    package var monitor: DriftMonitor? { engines.first?.drift }

    public var k: Int { configuration.recommender.evaluationK }

    /// Learns from an event without scoring it (e.g. a training log before the scored one).
    public func warm(_ event: Event, timestamp: Int64) {
        for (index, engine) in engines.enumerated() {
            let step = engine.step(event, fallbackTimestamp: timestamp, mode: .train)
            if index == 0 { learnDecayed(step) }
        }
        warmupEvents += 1
    }

    private func decayedRanks(of event: Event) -> [Int?]? {
        guard case let .click(click) = event else { return nil }
        let recommender = engines[0].recommender
        guard let item = recommender.items.row(for: click.item) else {
            return Array(repeating: nil, count: configuration.decayedHalfLives.count)
        }
        let excluded = recommender.users.row(for: click.user).map { recommender.exclusions(for: $0) } ?? ExcludedItems(sorted: [])
        return decayedPopularity.ranks(of: item, k: k, excluding: excluded)
    }

    private func learnDecayed(_ step: EventStep) {
        for row in step.evictedItems { decayedPopularity.clear(item: row) }
        if step.kind == .click, step.positive != nil || step.evaluation != nil, let item = step.itemRows.first {
            decayedPopularity.record(click: item)
        }
    }

    /// Test-then-train one event; returns the drift alerts it raised.
    @discardableResult
    public func replay(_ event: Event, timestamp: Int64) -> [DriftAlert] {
        let at = event.timestamp ?? timestamp
        if current == nil {
            current = Window(firstEvent: replayedEvents, lastEvent: replayedEvents, firstTimestamp: at, lastTimestamp: at,
                             samplers: Array(repeating: Score(), count: models.count),
                             decayed: Array(repeating: Score(), count: configuration.decayedHalfLives.count))
        }
        // The peer ranks the click before anyone learns it, over the rows the first model knows.
        let peerRanks = decayedRanks(of: event)
        var raised: [DriftAlert] = []
        for (index, engine) in engines.enumerated() {
            let step = engine.step(event, fallbackTimestamp: timestamp)
            if let evaluation = step.evaluation {
                current!.samplers[index].add(rank: evaluation.modelRank)
                if index == 0 {
                    current!.popular.add(rank: evaluation.popularRank)
                    for (candidate, rank) in (peerRanks ?? []).enumerated() { current!.decayed[candidate].add(rank: rank) }
                }
            }
            if index == 0 { learnDecayed(step) }
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

    /// Scores over the whole replay: one per sampler, the popularity floor, and the decayed
    /// popularity peer under each half-life.
    public func totals() -> (samplers: [Score], popular: Score, decayed: [Score]) {
        var samplers = Array(repeating: Score(), count: models.count)
        var popular = Score()
        var decayed = Array(repeating: Score(), count: configuration.decayedHalfLives.count)
        for window in windows + (current.map { [$0] } ?? []) {
            for index in samplers.indices { samplers[index].merge(window.samplers[index]) }
            popular.merge(window.popular)
            for index in decayed.indices { decayed[index].merge(window.decayed[index]) }
        }
        return (samplers, popular, decayed)
    }

    /// The decayed-popularity half-life the report shows: the best NDCG over the windows that end
    /// within the first `peerSelectionShare` of the replay (at least the first window); ties go to
    /// the longer half-life.
    public var chosenHalfLifeIndex: Int {
        let limit = max(Int(Double(replayedEvents) * configuration.peerSelectionShare), 1)
        let all = windows + (current.map { [$0] } ?? [])
        var scores = Array(repeating: Score(), count: configuration.decayedHalfLives.count)
        for (position, window) in all.enumerated() where position == 0 || window.lastEvent <= limit {
            for index in scores.indices { scores[index].merge(window.decayed[index]) }
        }
        var best = 0
        for index in scores.indices.dropFirst() {
            let better = scores[index].ndcg > scores[best].ndcg
                || (scores[index].ndcg == scores[best].ndcg && configuration.decayedHalfLives[index] > configuration.decayedHalfLives[best])
            if better { best = index }
        }
        return best
    }
}
