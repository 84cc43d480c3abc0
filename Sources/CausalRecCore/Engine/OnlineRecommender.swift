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
public final class OnlineRecommender {
    public let configuration: RecommenderConfiguration
    public internal(set) var users = IdentifierTable()
    public internal(set) var items = IdentifierTable()
    public let model: MatrixFactorization
    public let exposure: ExposureEstimator
    public let history: InteractionHistory
    public private(set) var evaluator: PrequentialEvaluator
    public private(set) var modelVersion: Int64 = 0
    public internal(set) var applied = AppliedEventCounts()
    public private(set) var lastTrainingLoss: Float = 0
    public var samplerName: String { sampler.name }
    /// The sampler, for diagnostics that draw negatives without training.
    var samplerForDiagnostics: any NegativeSampler { sampler }

    /// Version of the generative sampler's snapshot (0 for other samplers).
    public var generatorVersion: Int { (sampler as? any GenerativeNegativeSampler)?.generatorVersion ?? 0 }

    private let trainer: BPRTrainer
    var sampler: any NegativeSampler
    private var random: Xoshiro256
    private let ranker = ItemRanker()
    var pending: [PositiveExample] = []
    var replay: [PositiveExample] = []
    var replayNext = 0
    private var batch: [PositiveExample] = []
    private var negatives: [Int32] = []
    private var triplets: [TrainingTriplet] = []
    private var syntheticVectors: [Float] = []
    private var mixingWeights: [Float] = []
    private var impressionsSeen = false
    var mostExposedCache = RankedCache()
    var mostClickedCache = RankedCache()

    // Retention (DESIGN.md §4): event time each row was last named, ids waiting for admission.
    var userLastSeen: [Int] = []
    var itemLastSeen: [Int] = []
    var waitingUsers: [String: AdmissionCount] = [:]
    var waitingItems: [String: AdmissionCount] = [:]
    /// Event time as the state sees it (robust to outliers far ahead; see `EventClock`).
    var clock = EventClock()
    var latestTimestamp: Int64 { clock.latest }
    var eventsSinceSweep = 0
    public internal(set) var evictedUsers = 0
    public internal(set) var evictedItems = 0
    /// Item rows the latest sweep freed (observers keyed by item row drop them).
    public internal(set) var lastEvictedItems: [Int32] = []
    /// Free item rows, sorted: excluded from rankings and negatives until reused.
    var freeItemsSorted: [Int32] = []

    struct AdmissionCount {
        var count: Int
        var lastSeen: Int64
    }

    public init(configuration: RecommenderConfiguration) {
        self.configuration = configuration
        model = MatrixFactorization(configuration: configuration.model)
        exposure = ExposureEstimator(configuration: configuration.exposure)
        history = InteractionHistory(tracksImpressions: configuration.sampler.needsImpressions)
        trainer = BPRTrainer(model: model)
        sampler = configuration.sampler.makeSampler(dimension: configuration.model.dimension,
                                                    environments: configuration.exposure.environmentCount)
        random = Xoshiro256(seed: configuration.seed)
        evaluator = PrequentialEvaluator(k: configuration.evaluationK, sampleEvery: max(1, configuration.evaluateEveryNthClick),
                                         windowSize: configuration.evaluationWindow)
        pending.reserveCapacity(configuration.trainingBatchSize)
    }

    /// Training positives waiting for the next batch.
    public var pendingPositives: Int { pending.count }

    /// Whether clicks are tested before they are learned (with `evaluateEveryNthClick`). A replay
    /// turns it off while it warms a model up on a log it does not score. Not part of the state.
    public var evaluationEnabled = true

    /// The test of the most recent click that was evaluated by `apply`, for callers that keep
    /// their own scores (replay): nil when the last applied click was not evaluated.
    public private(set) var lastEvaluation: ClickEvaluation?

    // MARK: Applying events

    /// Applies one valid event; returns the answer when it is a request. `fallbackTimestamp`
    /// (the transport's timestamp) is used when the event carries none.
    @discardableResult
    public func apply(_ event: Event, fallbackTimestamp: Int64) -> Recommendation? {
        let stamped = event.timestamp ?? fallbackTimestamp
        let timestamp = clock.admit(stamped)
        var answer: Recommendation?
        switch event {
        case let .impression(impression):
            applyImpression(impression, at: timestamp)
        case let .click(click):
            applyClick(click, at: timestamp)
        case let .request(request):
            applied.requests += 1
            if let row = users.row(for: request.user) { userLastSeen[Int(row)] = max(userLastSeen[Int(row)], Int(timestamp)) }
            answer = recommend(user: request.user, k: request.k ?? configuration.defaultRequestK, at: stamped)
        case let .forget(forget):
            self.forget(user: forget.user)
        }
        afterEvent()
        return answer
    }

    private func applyImpression(_ impression: Impression, at timestamp: Int64) {
        impressionsSeen = true
        let user = history.tracksImpressions ? admittedUser(impression.user, at: timestamp) : knownUser(impression.user, at: timestamp)
        for identifier in impression.items {
            guard let item = admittedItem(identifier, at: timestamp) else { continue }
            if configuration.exposure.source != .clicks {
                exposure.record(item: item, at: timestamp)
            }
            if let user { history.recordImpression(user: user, item: item) }
        }
        applied.impressions += 1
    }

    private func applyClick(_ click: Click, at timestamp: Int64) {
        lastEvaluation = nil
        guard let positive = recordClick(click, at: timestamp, evaluate: configuration.evaluateEveryNthClick > 0 && evaluationEnabled)
        else { return }
        pending.append(positive)
        if pending.count >= configuration.trainingBatchSize {
            trainPending()
        }
    }

    /// Test (optionally), then record a click in history and exposure; returns the positive (nil
    /// while its user or item waits for admission).
    private func recordClick(_ click: Click, at timestamp: Int64, evaluate shouldEvaluate: Bool) -> PositiveExample? {
        let admittedItem = admittedItem(click.item, at: timestamp)
        let admittedUser = admittedUser(click.user, at: timestamp)
        guard let item = admittedItem, let user = admittedUser else {
            applied.clicks += 1
            return nil
        }
        let eventIndex = applied.total
        if shouldEvaluate && evaluator.shouldEvaluateNextClick() {
            evaluate(user: user, item: item, eventIndex: eventIndex)
        }
        history.record(user: user, item: item)
        let useClicksAsExposure = configuration.exposure.source == .clicks
            || (configuration.exposure.source == .auto && !impressionsSeen)
        if useClicksAsExposure {
            exposure.record(item: item, at: timestamp)
        }
        applied.clicks += 1
        return PositiveExample(user: user, item: item, timestamp: timestamp)
    }

    /// Records an event in the state (ids, history, exposure) without training, evaluating or
    /// answering — how an offline backtest loads its training split before running epochs.
    /// Returns the positive for a click.
    @discardableResult
    public func record(_ event: Event, fallbackTimestamp: Int64) -> PositiveExample? {
        let timestamp = clock.admit(event.timestamp ?? fallbackTimestamp)
        switch event {
        case let .impression(impression):
            applyImpression(impression, at: timestamp)
            return nil
        case let .click(click):
            return recordClick(click, at: timestamp, evaluate: false)
        case .request:
            applied.requests += 1
            return nil
        case let .forget(forget):
            self.forget(user: forget.user)
            return nil
        }
    }

    /// The row of a known user or item id (nil when never seen).
    public func userRow(ofKnown identifier: String) -> Int32? { users.row(for: identifier) }
    public func itemRow(ofKnown identifier: String) -> Int32? { items.row(for: identifier) }

    /// Trains on already-resolved positives in batches of `trainingBatchSize` (one model version
    /// each), without replay — an epoch of an offline backtest. The positives must have been
    /// applied as clicks before (so the history knows them); order is the caller's.
    public func train(on positives: UnsafeBufferPointer<PositiveExample>) {
        let size = configuration.trainingBatchSize
        var start = 0
        while start < positives.count {
            let end = min(start + size, positives.count)
            trainBatch(UnsafeBufferPointer(rebasing: positives[start..<end]))
            start = end
        }
    }

    /// Trains on the queued positives now, even if fewer than a batch (end of a replay).
    public func flushTraining() {
        if !pending.isEmpty { trainPending() }
    }

    private func trainPending() {
        batch.removeAll(keepingCapacity: true)
        batch.append(contentsOf: pending)
        if !replay.isEmpty {
            for _ in 0..<(pending.count * configuration.replayPerPositive) {
                batch.append(replay[random.nextIndex(below: replay.count)])
            }
        }
        for positive in pending where configuration.replayCapacity > 0 {
            if replay.count < configuration.replayCapacity {
                replay.append(positive)
            } else {
                replay[replayNext] = positive
                replayNext = (replayNext + 1) % configuration.replayCapacity
            }
        }
        pending.removeAll(keepingCapacity: true)
        let examples = batch
        examples.withUnsafeBufferPointer { trainBatch($0) }
    }

    /// Positives per negative-sampling chunk. Each chunk draws from its own generator seeded from
    /// (batch seed, chunk number), so chunks can run on any thread and the draws do not depend on
    /// the thread count.
    static let samplingChunk = 512

    /// Samples a negative for each positive, applies one BPR step, and bumps the version.
    private func trainBatch(_ positives: UnsafeBufferPointer<PositiveExample>) {
        let count = positives.count
        if negatives.count < count { negatives = [Int32](repeating: -1, count: count) }
        let context = SamplingContext(model: model, history: history, exposure: exposure,
                                      freeItems: ExcludedItems(sorted: freeItemsSorted))
        var generative = sampler as? any GenerativeNegativeSampler
        if generative != nil {
            generative!.learn(from: positives, context: context, random: &random)
            let stride = model.stride
            if syntheticVectors.count < count * stride { syntheticVectors = [Float](repeating: 0, count: count * stride) }
            if mixingWeights.count < count { mixingWeights = [Float](repeating: 0, count: count) }
        }
        sampler.prepare(context: context)
        generative?.prepare(context: context)
        let batchSeed = random.next()
        let chunks = (count + Self.samplingChunk - 1) / Self.samplingChunk
        let threads = max(1, min(configuration.model.threads, chunks))
        let prepared = sampler
        let preparedGenerative = generative
        let rowStride = model.stride
        negatives.withUnsafeMutableBufferPointer { output in
            syntheticVectors.withUnsafeMutableBufferPointer { vectors in
                mixingWeights.withUnsafeMutableBufferPointer { mix in
                    ParallelWork.run(parts: threads) { part in
                        var local = prepared
                        var localGenerative = preparedGenerative
                        for chunk in stride(from: part, to: chunks, by: threads) {
                            let range = (chunk * Self.samplingChunk)..<min(count, (chunk + 1) * Self.samplingChunk)
                            var generator = Xoshiro256(seed: SplitMix64.mix(batchSeed, UInt64(chunk)))
                            if localGenerative != nil {
                                let synthetic = SyntheticNegatives(vectors: vectors.baseAddress! + range.lowerBound * rowStride,
                                                                   stride: rowStride, mix: mix.baseAddress! + range.lowerBound)
                                localGenerative!.sampleNegatives(for: UnsafeBufferPointer(rebasing: positives[range]),
                                                                 into: UnsafeMutableBufferPointer(rebasing: output[range]),
                                                                 synthetic: synthetic, context: context, random: &generator)
                            } else {
                                local.sampleNegatives(for: UnsafeBufferPointer(rebasing: positives[range]),
                                                      into: UnsafeMutableBufferPointer(rebasing: output[range]),
                                                      context: context, random: &generator)
                            }
                        }
                    }
                }
            }
        }
        if let generative { sampler = generative }
        triplets.removeAll(keepingCapacity: true)
        for index in 0..<count {
            triplets.append(TrainingTriplet(user: positives[index].user, positive: positives[index].item,
                                            negative: negatives[index], mix: generative != nil ? mixingWeights[index] : 0))
        }
        let cnsdiff = configuration.sampler.cnsdiff
        let contrastive = generative != nil && cnsdiff.contrastiveWeight > 0
            ? ContrastiveTerm(weight: Float(cnsdiff.contrastiveWeight), temperature: Float(cnsdiff.contrastiveTemperature),
                              seed: SplitMix64.mix(batchSeed, 0xC0_17A5))
            : nil
        lastTrainingLoss = triplets.withUnsafeBufferPointer { batch in
            syntheticVectors.withUnsafeBufferPointer { vectors in
                trainer.train(batch, synthetic: generative != nil ? vectors.baseAddress : nil, contrastive: contrastive)
            }
        }
        modelVersion += 1
    }

    // MARK: Answering

    /// The top `k` items for `user`: from the model when the user has clicks, else the most
    /// exposed items. Never empty while any item is known.
    public func recommend(user identifier: String, k: Int, at timestamp: Int64) -> Recommendation {
        recommendation(user: identifier, k: k, at: timestamp, updatingCaches: true)
    }

    /// `recommend` without touching any state (not even the cached popular list), for queries
    /// from outside the event stream: asking must not change what the stream computes later.
    public func peekRecommendation(user identifier: String, k: Int, at timestamp: Int64) -> Recommendation {
        recommendation(user: identifier, k: k, at: timestamp, updatingCaches: false)
    }

    private func recommendation(user identifier: String, k: Int, at timestamp: Int64, updatingCaches: Bool) -> Recommendation {
        if let user = users.row(for: identifier), history.clickCount(of: user) > 0 {
            let ranked = ranker.topK(user: user, k: k, model: model, excluding: exclusions(for: user))
            if !ranked.isEmpty {
                return Recommendation(user: identifier,
                                      items: ranked.map { ScoredItem(item: items.identifier(of: $0.item), score: $0.score) },
                                      modelVersion: modelVersion, source: .model, timestamp: timestamp)
            }
        }
        let popular = mostExposed(limit: k, updatingCache: updatingCaches)
        return Recommendation(user: identifier,
                              items: popular.map { ScoredItem(item: items.identifier(of: $0),
                                                              score: Float(exposure.propensity(of: $0))) },
                              modelVersion: modelVersion, source: .mostExposed, timestamp: timestamp)
    }

    /// The `limit` most exposed items (cached; refreshed every `popularityRefreshEvery` exposures).
    public func mostExposed(limit: Int) -> [Int32] {
        mostExposed(limit: limit, updatingCache: true)
    }

    private func mostExposed(limit: Int, updatingCache: Bool) -> [Int32] {
        let compute = { [exposure] (size: Int) in exposure.mostExposed(limit: size) }
        let items = updatingCache
            ? mostExposedCache.items(limit: limit, version: exposure.recordedCount,
                                     refreshEvery: configuration.popularityRefreshEvery, compute: compute)
            : mostExposedCache.peek(limit: limit, version: exposure.recordedCount,
                                    refreshEvery: configuration.popularityRefreshEvery, compute: compute)
        if items.count >= min(limit, exposure.itemCount) { return Array(items.prefix(limit)) }
        // Fewer exposed items than asked: pad with known items so the list is never empty.
        var result = items
        var seen = Set(items)
        var row: Int32 = 0
        while result.count < limit && Int(row) < self.items.count {
            if seen.insert(row).inserted { result.append(row) }
            row += 1
        }
        return result
    }

    private func evaluate(user: Int32, item: Int32, eventIndex: Int) {
        let k = configuration.evaluationK
        let clicked = ExcludedItems(sorted: history.clicked(by: user))
        let modelRank: Int?
        if clicked.isEmpty {
            modelRank = mostExposed(limit: k).firstIndex(of: item)
        } else {
            modelRank = ranker.topK(user: user, k: k, model: model, excluding: exclusions(for: user)).firstIndex { $0.item == item }
        }
        let popularRank = mostClicked(limit: k, excluding: clicked).firstIndex(of: item)
        evaluator.record(eventIndex: eventIndex, modelHit: modelRank != nil, popularHit: popularRank != nil)
        lastEvaluation = ClickEvaluation(k: k, modelRank: modelRank, popularRank: popularRank)
    }

    /// The most-popular baseline: top items by click count so far, without the user's clicks.
    public func mostClicked(limit: Int, excluding excluded: ExcludedItems) -> [Int32] {
        let candidates = mostClickedCache.items(limit: limit + min(excluded.sorted.count, 1_000), version: history.totalClicks,
                                                refreshEvery: configuration.popularityRefreshEvery) { size in
            history.mostClicked(limit: size)
        }
        var result: [Int32] = []
        result.reserveCapacity(limit)
        for item in candidates where !excluded.contains(item) {
            result.append(item)
            if result.count == limit { break }
        }
        return result
    }

    // MARK: State

    /// Version of the checkpoint body layout this build writes and reads.
    public static let stateLayoutVersion = 3

    /// Everything the recommender's future outputs depend on, in the layout `readState` reads:
    /// ids, embeddings and optimizer state, exposure, history, the sampler (with the denoiser),
    /// the random stream, the positives queued for the next batch and the replay ring — so a
    /// restored recommender continues bit for bit as if it had never stopped.
    public func writeState(to writer: inout StateWriter) {
        writer.beginSection("RECO")
        writer.write(sampler.name)
        writer.write(modelVersion)
        writer.write(applied.impressions)
        writer.write(applied.clicks)
        writer.write(applied.requests)
        writer.write(lastTrainingLoss)
        writer.write(random)
        writer.write(impressionsSeen)
        users.writeState(to: &writer)
        items.writeState(to: &writer)
        model.writeState(to: &writer)
        exposure.writeState(to: &writer)
        history.writeState(to: &writer)
        evaluator.writeState(to: &writer)
        for positives in [pending, replay] {
            writer.write(positives.count)
            for positive in positives {
                writer.write(positive.user)
                writer.write(positive.item)
                writer.write(positive.timestamp)
            }
        }
        writer.write(replayNext)
        mostExposedCache.writeState(to: &writer)
        mostClickedCache.writeState(to: &writer)
        writer.beginSection("RETN")
        writer.write(applied.forgets)
        writer.write(userLastSeen)
        writer.write(itemLastSeen)
        for waiting in [waitingUsers, waitingItems] {
            writer.write(waiting.count)
            // Sorted: a dictionary's order differs from process to process.
            for (identifier, entry) in waiting.sorted(by: { $0.key < $1.key }) {
                writer.write(identifier)
                writer.write(entry.count)
                writer.write(entry.lastSeen)
            }
        }
        clock.writeState(to: &writer)
        writer.write(eventsSinceSweep)
        writer.write(evictedUsers)
        writer.write(evictedItems)
        writer.endSection()
        writer.beginSection("SAMP")
        sampler.writeState(to: &writer)
        writer.endSection()
        writer.endSection()
    }

    /// Replaces this (freshly made) recommender's state with a stored one. The configuration
    /// must agree on what shapes the state (dimension, sampler, exposure environments); learning
    /// rates and other settings may change between runs.
    public func readState(from reader: inout StateReader) throws {
        try reader.beginSection("RECO")
        try reader.expect(try reader.readString(), equals: sampler.name, "sampler.name")
        modelVersion = Int64(try reader.readCounter("model_version"))
        applied.impressions = try reader.readCounter("applied impressions")
        applied.clicks = try reader.readCounter("applied clicks")
        applied.requests = try reader.readCounter("applied requests")
        lastTrainingLoss = try reader.readFloat()
        random = try reader.readRandom()
        impressionsSeen = try reader.readBool()
        try users.readState(from: &reader, "user ids")
        try items.readState(from: &reader, "item ids")
        try model.readState(from: &reader)
        try exposure.readState(from: &reader)
        try history.readState(from: &reader)
        try evaluator.readState(from: &reader)
        var lists: [[PositiveExample]] = []
        for what in ["queued positives", "replayed positives"] {
            let count = try reader.readCount(elementSize: 16, what)
            var positives: [PositiveExample] = []
            positives.reserveCapacity(count)
            for _ in 0..<count {
                let positive = PositiveExample(user: try reader.readInt32(), item: try reader.readInt32(),
                                               timestamp: try reader.readTime("the time of a positive"))
                guard positive.user >= 0, Int(positive.user) < users.count, positive.item >= 0, Int(positive.item) < items.count else {
                    throw StateReadError("\(what): a positive names a row that does not exist")
                }
                positives.append(positive)
            }
            lists.append(positives)
        }
        pending = lists[0]
        replay = lists[1]
        // A legitimate state queues fewer than one batch (the largest batch size allowed).
        try StateCheck.require(pending.count <= 65_536, "queued positives: \(pending.count) is more than a batch")
        replayNext = try reader.readInt()
        guard users.count == model.userCount, items.count == model.itemCount, items.count == exposure.itemCount else {
            throw StateReadError("the id tables (\(users.count) users, \(items.count) items) disagree with the embeddings (\(model.userCount), \(model.itemCount))")
        }
        guard replayNext >= 0, replayNext <= max(0, replay.count - 1) else {
            throw StateReadError("the replay ring's position \(replayNext) is outside its \(replay.count) entries")
        }
        if replay.count > configuration.replayCapacity || (replayNext != 0 && replay.count < configuration.replayCapacity) {
            // The capacity changed between runs: keep the newest positives in ring order.
            let ordered = Array(replay[replayNext...] + replay[..<replayNext])
            replay = Array(ordered.suffix(configuration.replayCapacity))
            replayNext = 0
        }
        try mostExposedCache.readState(from: &reader)
        try mostClickedCache.readState(from: &reader)
        try reader.beginSection("RETN")
        applied.forgets = try reader.readCounter("applied forgets")
        userLastSeen = try reader.readIntArray()
        itemLastSeen = try reader.readIntArray()
        let limit = Int(StateReader.magnitudeLimit)
        for time in userLastSeen + itemLastSeen where time < -limit || time > limit {
            throw StateReadError("a last-seen time of \(time) is out of range")
        }
        guard userLastSeen.count == users.count, itemLastSeen.count == items.count else {
            throw StateReadError("the last-seen times (\(userLastSeen.count) users, \(itemLastSeen.count) items) disagree with the id tables")
        }
        var waiting: [[String: AdmissionCount]] = []
        for what in ["users waiting for admission", "items waiting for admission"] {
            let count = try reader.readCount(elementSize: 24, what)
            var entries: [String: AdmissionCount] = [:]
            var previous: String?
            for _ in 0..<count {
                let identifier = try reader.readString()
                // Sorted and unique, as written; counts are below the admission threshold.
                guard previous.map({ $0 < identifier }) ?? true, !identifier.isEmpty else {
                    throw StateReadError("\(what): ids are not sorted and unique")
                }
                previous = identifier
                let entry = AdmissionCount(count: try reader.readCounter(what), lastSeen: try reader.readTime(what))
                guard entry.count >= 1, entry.count <= 1 << 31 else { throw StateReadError("\(what): a count of \(entry.count)") }
                entries[identifier] = entry
            }
            waiting.append(entries)
        }
        waitingUsers = waiting[0]
        waitingItems = waiting[1]
        try clock.readState(from: &reader)
        eventsSinceSweep = try reader.readCounter("events since the last sweep")
        evictedUsers = try reader.readCounter("evicted users")
        evictedItems = try reader.readCounter("evicted items")
        freeItemsSorted = items.freeRows.sorted()
        try reader.endSection()
        try reader.beginSection("SAMP")
        try sampler.readState(from: &reader)
        try reader.endSection()
        try reader.endSection()
        try validateRestored()
    }

    /// Checks that cross components: every row a part of the state names exists and is in use.
    private func validateRestored() throws {
        try StateCheck.require(users.count <= Int(Int32.max) && items.count <= Int(Int32.max), "the id tables are too large")
        let freeUsers = users.freeRows.sorted()
        try history.validateRestored(userCount: users.count, itemCount: items.count, freeUsers: freeUsers, freeItems: freeItemsSorted)
        for (what, positives) in [("queued positives", pending), ("replayed positives", replay)] {
            try StateCheck.disjoint(positives.map(\.item), from: freeItemsSorted, what)
            try StateCheck.disjoint(positives.map(\.user), from: freeUsers, what)
        }
        for (what, cache, version) in [("the most-exposed list", mostExposedCache, exposure.recordedCount),
                                       ("the most-clicked list", mostClickedCache, history.totalClicks)]
        {
            try cache.validateRestored(itemCount: items.count, freeItems: freeItemsSorted, version: version, what)
        }
        for row in freeItemsSorted where exposure.weights[Int(row)] != 0 {
            throw StateReadError("the free item row \(row) has exposure")
        }
        try StateCheck.require(evaluator.total.evaluated <= applied.clicks && evaluator.clicksObserved <= applied.clicks,
                               "the evaluator saw more clicks (\(evaluator.clicksObserved)) than were applied (\(applied.clicks))")
        try sampler.validateRestored(RestoredStateContext(userCount: users.count, itemCount: items.count, freeUsers: freeUsers,
                                                          freeItems: freeItemsSorted, exposuresRecorded: exposure.recordedCount,
                                                          environmentCount: configuration.exposure.environmentCount))
    }

    // MARK: Rows

    func itemRow(_ identifier: String) -> Int32 {
        let (row, inserted) = items.insert(identifier)
        if inserted {
            let count = items.count
            model.growItems(to: count)
            exposure.grow(to: count)
            history.growItems(to: count)
            if itemLastSeen.count < count { itemLastSeen.append(contentsOf: repeatElement(0, count: count - itemLastSeen.count)) }
            if !freeItemsSorted.isEmpty { freeItemsSorted = items.freeRows.sorted() }
        }
        return row
    }

    func userRow(_ identifier: String) -> Int32 {
        let (row, inserted) = users.insert(identifier)
        if inserted {
            let count = users.count
            model.growUsers(to: count)
            history.growUsers(to: count)
            if userLastSeen.count < count { userLastSeen.append(contentsOf: repeatElement(0, count: count - userLastSeen.count)) }
        }
        return row
    }

    /// The user's clicks plus the free item rows: what a ranking for the user must leave out.
    private func exclusions(for user: Int32) -> ExcludedItems {
        let clicked = history.clicked(by: user)
        guard !freeItemsSorted.isEmpty else { return ExcludedItems(sorted: clicked) }
        var merged: [Int32] = []
        merged.reserveCapacity(clicked.count + freeItemsSorted.count)
        var a = 0, b = 0
        while a < clicked.count || b < freeItemsSorted.count {
            if b == freeItemsSorted.count || (a < clicked.count && clicked[a] < freeItemsSorted[b]) {
                merged.append(clicked[a]); a += 1
            } else if a == clicked.count || freeItemsSorted[b] < clicked[a] {
                merged.append(freeItemsSorted[b]); b += 1
            } else {
                merged.append(clicked[a]); a += 1; b += 1
            }
        }
        return ExcludedItems(sorted: merged)
    }
}

/// A ranked list recomputed only every `refreshEvery` changes of a version counter, so popular
/// lists cost O(items) rarely instead of on every request. Refresh points depend only on the
/// event stream, which keeps results deterministic.
struct RankedCache {
    private var cached: [Int32] = []
    private var cachedSize = 0
    private var cachedVersion = -1

    func writeState(to writer: inout StateWriter) {
        writer.write(cached)
        writer.write(cachedSize)
        writer.write(cachedVersion)
    }

    mutating func readState(from reader: inout StateReader) throws {
        cached = try reader.readInt32Array()
        cachedSize = try reader.readCounter("a cached list's size")
        cachedVersion = try reader.readInt()
    }

    func validateRestored(itemCount: Int, freeItems: [Int32], version: Int, _ what: String) throws {
        try StateCheck.rows(cached, below: itemCount, what)
        try StateCheck.disjoint(cached, from: freeItems, what)
        try StateCheck.require(Set(cached).count == cached.count && cached.count <= cachedSize
                                   && cachedVersion >= -1 && cachedVersion <= version,
                               "\(what) (\(cached.count) of \(cachedSize) items, version \(cachedVersion) of \(version)) is inconsistent")
    }

    private func isStale(limit: Int, version: Int, refreshEvery: Int) -> Bool {
        cachedVersion < 0 || version - cachedVersion >= refreshEvery || (version != cachedVersion && cached.isEmpty)
            || limit > cachedSize
    }

    /// The cached list when it is fresh, else a computed one that is not kept.
    func peek(limit: Int, version: Int, refreshEvery: Int, compute: (Int) -> [Int32]) -> [Int32] {
        isStale(limit: limit, version: version, refreshEvery: refreshEvery) ? compute(max(limit, 1_024)) : cached
    }

    mutating func items(limit: Int, version: Int, refreshEvery: Int, compute: (Int) -> [Int32]) -> [Int32] {
        if isStale(limit: limit, version: version, refreshEvery: refreshEvery) {
            cachedSize = max(limit, 1_024)
            cached = compute(cachedSize)
            cachedVersion = version
        }
        return cached
    }
}
