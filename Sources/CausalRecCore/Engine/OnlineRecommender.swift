/// The learning core: applies events in order and answers recommendation requests.
///
/// - impressions update the exposure estimator;
/// - clicks are first evaluated (test-then-train: where did the model rank the item just
///   before?), then recorded and queued as positives; every `trainingBatchSize` positives the
///   sampler draws negatives and one BPR step is applied (`modelVersion` += 1);
/// - requests are answered from the current model (or the most exposed items for a user without
///   clicks).
///
/// It does no I/O and reads no clock: timestamps come with the events, randomness from `seed`.
/// One entry point, `step`, applies an event and says what it did (`EventStep`).
///
/// The recommender owns the shared tables every part reads — the id tables, the embeddings, the
/// exposure estimate, the interaction history, the event clock — and three parts, each with its
/// own state and checkpoint section: `training` (queued and recent positives, the sampler, the
/// trainer, the random stream), `retention` (admission, last-seen times, which rows to give back)
/// and `ranking` (the stream's ranker, popular lists, exposure adjustment, exponent choice). A
/// row given back is released from every part in one place (`release`).
public final class OnlineRecommender {
    public let configuration: RecommenderConfiguration
    package internal(set) var users = IdentifierTable()
    package internal(set) var items = IdentifierTable()
    public let model: MatrixFactorization
    package let exposure: ExposureEstimator
    package let history: InteractionHistory
    public internal(set) var evaluator: PrequentialEvaluator
    public internal(set) var modelVersion: Int64 = 0
    public internal(set) var applied = AppliedEventCounts()
    package let training: TrainingQueue
    package let retention: RowRetention
    package let ranking: RankingState
    /// What changed of the items since their last publication (only when items are shared).
    let sharing: ItemSharing?
    /// Event time as the state sees it (robust to outliers far ahead; see `EventClock`).
    var clock = EventClock()
    /// Whether any impression was applied (`exposure.source: auto` counts clicks until then).
    var impressionsSeen = false
    /// Free item rows, sorted: excluded from rankings and negatives until reused.
    var freeItemsSorted: [Int32] = []
    /// The buffer `EventStep.itemRows` is filled in (see `step`).
    private var itemRowsBuffer: [Int32] = []

    public init(configuration: RecommenderConfiguration) {
        self.configuration = configuration
        model = MatrixFactorization(configuration: configuration.model)
        exposure = ExposureEstimator(configuration: configuration.exposure)
        history = InteractionHistory(tracksImpressions: configuration.sampler.needsImpressions)
        evaluator = PrequentialEvaluator(k: configuration.evaluationK, sampleEvery: max(1, configuration.evaluateEveryNthClick),
                                         windowSize: configuration.evaluationWindow)
        let tables = SharedTables(model: model, history: history, exposure: exposure)
        training = TrainingQueue(configuration: configuration, tables: tables)
        retention = RowRetention(configuration: configuration.retention)
        ranking = RankingState(configuration: configuration, tables: tables)
        sharing = configuration.sharesItems
            ? ItemSharing(dimension: model.dimension, stride: model.stride,
                          exposureHalfLifeMilliseconds: configuration.exposure.halfLifeMilliseconds)
            : nil
    }

    public var samplerName: String { training.samplerName }
    /// Version of the generative sampler's snapshot (0 for other samplers).
    public var generatorVersion: Int { training.generatorVersion }

    /// The latest event time the state has accepted (see `EventClock`): the time to give an
    /// event that carries none and arrives without a transport timestamp either.
    public var latestTimestamp: Int64 { clock.latest }

    /// Events applied at the clock's time instead of their own, later one (see `EventClock`).
    public var eventsHeldBack: Int { clock.heldBack }

    /// The row of a known user or item id (nil when never seen).
    public func userRow(ofKnown identifier: String) -> Int32? { users.row(for: identifier) }
    public func itemRow(ofKnown identifier: String) -> Int32? { items.row(for: identifier) }

    // MARK: The step

    /// Applies one valid event and returns what it did. `fallbackTimestamp` (the transport's
    /// timestamp) is used when the event carries none. `countsItems: false` (shared items only):
    /// another instance already counted the event's clicks and exposure, so only the user's
    /// state and the model learn from it. `source` (shared items only): the input the event came
    /// from, under which its counts are published.
    @discardableResult
    public func step(_ event: Event, fallbackTimestamp: Int64, mode: StepMode = .testThenTrain, countsItems: Bool = true,
                     source: Int32 = 0) -> EventStep {
        let stamped = event.timestamp ?? fallbackTimestamp
        let time = clock.admit(stamped, from: event.user)
        var step = EventStep(kind: EventStep.Kind(event), time: time)
        // The rows buffer is reused from event to event: once the caller has dropped the previous
        // step it is uniquely referenced again and filling it allocates nothing.
        step.itemRows = itemRowsBuffer
        itemRowsBuffer = []
        step.itemRows.removeAll(keepingCapacity: true)
        defer { itemRowsBuffer = step.itemRows }
        switch event {
        case let .impression(impression):
            applyImpression(impression, at: time, counting: countsItems ? source : nil, into: &step)
        case let .click(click):
            applyClick(click, at: time, mode: mode, counting: countsItems ? source : nil, into: &step)
        case let .request(request):
            applied.requests += 1
            guard mode != .record else { break }
            if let row = users.row(for: request.user) {
                retention.touchUser(row, at: time)
                step.userRow = row
            }
            step.answers.append(recommend(user: request.user, k: request.k ?? configuration.defaultRequestK, at: stamped))
        case let .forget(forget):
            self.forget(user: forget.user, counting: countsItems, source: source)
        }
        if mode != .record {
            let release = retention.rowsToRelease(after: step, users: users, items: items, now: clock.latest)
            if !release.isEmpty {
                step.evictedUsers = release.users.map { ($0, users.identifier(of: $0)) }
                self.release(release)
                step.evictedItems = release.items
            }
        }
        return step
    }

    /// Whether a shown item enters the user's history (`sampledImpressionShare`).
    private func keepsShownItem(user: Int32, item: Int32, at time: Int64) -> Bool {
        let share = configuration.sampledImpressionShare
        guard share < 1 else { return true }
        let hash = SplitMix64.mix(UInt64(UInt32(bitPattern: user)) << 32 | UInt64(UInt32(bitPattern: item)), UInt64(bitPattern: time))
        return Double(hash >> 11) * 0x1p-53 < share
    }

    /// `counting`: the source the event's item counts go under, nil when they are not counted.
    private func applyImpression(_ impression: Impression, at time: Int64, counting: Int32?, into step: inout EventStep) {
        impressionsSeen = true
        let user = history.tracksImpressions ? admittedUser(impression.user, at: time) : knownUser(impression.user, at: time)
        step.userRow = user
        for identifier in impression.items {
            guard let item = admittedItem(identifier, at: time) else { continue }
            step.itemRows.append(item)
            if configuration.exposure.source != .clicks, let source = counting {
                exposure.record(item: item, at: time)
                sharing?.countExposure(item, at: time, source: source)
            }
            if let user, keepsShownItem(user: user, item: item, at: time) { history.recordImpression(user: user, item: item) }
        }
        applied.impressions += 1
    }

    /// Tests (per `evaluateEveryNthClick`, in `.testThenTrain`), then records the click in history
    /// and exposure, and queues it for training (except in `.record`, where the caller trains).
    private func applyClick(_ click: Click, at time: Int64, mode: StepMode, counting: Int32?, into step: inout EventStep) {
        let admittedItem = admittedItem(click.item, at: time)
        let admittedUser = admittedUser(click.user, at: time)
        if let admittedItem { step.itemRows.append(admittedItem) }
        step.userRow = admittedUser
        guard let item = admittedItem, let user = admittedUser else {
            applied.clicks += 1
            return
        }
        if mode == .testThenTrain && configuration.evaluateEveryNthClick > 0 && evaluator.shouldEvaluateNextClick() {
            step.evaluation = evaluate(user: user, item: item, eventIndex: applied.total)
        }
        history.record(user: user, item: item, counting: counting != nil)
        if let source = counting { sharing?.countClick(item, by: 1, source: source) }
        let useClicksAsExposure = configuration.exposure.source == .clicks
            || (configuration.exposure.source == .auto && !impressionsSeen)
        if useClicksAsExposure, let source = counting {
            exposure.record(item: item, at: time)
            sharing?.countExposure(item, at: time, source: source)
        }
        applied.clicks += 1
        // The exposure at the click's time, for the deconfounded score (offline splits have no
        // time: `.record` leaves it for training to take the training counts).
        let stamped: Float = mode == .record || configuration.deconfounding.trainingExponent <= 0 && configuration.deconfounding.propensityWeightExponent <= 0
            ? 0 : Float(max(exposure.relativeExposure(of: item), configuration.deconfounding.exposureFloor))
        let positive = PositiveExample(user: user, item: item, timestamp: time, exposure: stamped)
        step.positive = positive
        guard mode != .record else { return }
        if training.enqueue(positive) {
            trainPending()
            step.trained = true
        }
    }
}
