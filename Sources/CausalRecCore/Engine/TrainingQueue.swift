/// The recommender's training part: clicked positives wait here until a batch is full; each
/// batch, mixed with positives drawn again from a ring of recent ones, gets its negatives from the
/// sampler (in parallel chunks with their own generators, so the draws do not depend on the
/// thread count) and one BPR step is applied to the model.
///
/// It owns the queue, the recent-positives ring, the sampler, the trainer, the random stream and
/// the reused batch buffers. It reads the history and the exposure estimate and writes only the
/// model's rows.
package final class TrainingQueue {
    let configuration: RecommenderConfiguration
    /// The recommender's tables this part reads (and, for training, writes the model of).
    let tables: SharedTables
    let trainer: BPRTrainer
    var sampler: any NegativeSampler
    var random: Xoshiro256
    /// Positives waiting for the next batch (fewer than `batchSize`).
    var pending: [PositiveExample] = []
    /// Recent positives (`recentPositivesCapacity`), drawn again beside new ones in each batch.
    var recentPositives: RingBuffer<PositiveExample>
    /// The loss of the latest step (estimated on a sample of its examples).
    package internal(set) var lastLoss: Float = 0

    // Buffers reused from batch to batch (their contents are not state).
    private var batch: [PositiveExample] = []
    private var negatives: [Int32] = []
    private var triplets: [TrainingTriplet] = []
    private var syntheticVectors: [Float] = []
    private var mixingWeights: [Float] = []
    /// Items' exposure weights r^γ, once per item while the exposure estimate is unchanged.
    private var exposureWeights = ItemWeightCache()
    /// Which of an example's exposure weights the chunk computed itself (`ExampleWeighting`).
    private var weightMisses: [UInt8] = []
    /// What a sampler with a memory observed while drawing (`NegativeObservations`).
    private var observedItems: [Int32] = []
    private var observedValues: [Float] = []
    /// Per example, the slot of its user's generated negatives (`GeneratedTerms`), −1 for none.
    private var generatedSlots: [Int32] = []

    /// Positives per negative-sampling chunk. Each chunk draws from its own generator seeded from
    /// (batch seed, chunk number), so chunks can run on any thread and the draws do not depend on
    /// the thread count.
    static let samplingChunk = 512

    init(configuration: RecommenderConfiguration, tables: SharedTables) {
        self.configuration = configuration
        self.tables = tables
        trainer = BPRTrainer(model: tables.model)
        sampler = configuration.sampler.makeSampler(dimension: configuration.model.dimension,
                                                    environments: configuration.exposure.environmentCount)
        random = Xoshiro256(seed: configuration.seed)
        recentPositives = RingBuffer(capacity: configuration.recentPositivesCapacity)
        batchSize = configuration.trainingBatchSize
        pending.reserveCapacity(configuration.trainingBatchSize)
    }

    package var samplerName: String { sampler.name }
    /// Version of the generative sampler's snapshot (0 for other samplers).
    package var generatorVersion: Int { sampler.generatorVersion }
    /// Positives waiting for the next batch.
    package var pendingCount: Int { pending.count }
    /// Steps refused because a gradient was not finite (nothing of them was written).
    package var refusedSteps: Int { trainer.refusedSteps }
    /// Whether the latest step was refused: the model is not learning from the stream.
    package var latestStepRefused: Bool { trainer.lastStepRefused }

    /// Positives per step of the live stream: `trainingBatchSize`, or this instance's share of it
    /// when several instances share items (`OnlineRecommender.setTrainingShare`).
    package internal(set) var batchSize: Int

    /// Queues a positive; true when a batch is full (the caller then calls `trainPending`).
    func enqueue(_ positive: PositiveExample) -> Bool {
        pending.append(positive)
        return pending.count >= batchSize
    }

    /// Trains on the queued positives and recent positives drawn beside them; true when the step was
    /// applied (a refused step changes no row).
    func trainPending(freeItems: ExcludedItems) -> Bool {
        batch.removeAll(keepingCapacity: true)
        batch.append(contentsOf: pending)
        if !recentPositives.isEmpty {
            for _ in 0..<(pending.count * configuration.recentPositivesPerPositive) {
                batch.append(recentPositives[slot: random.nextIndex(below: recentPositives.count)])
            }
        }
        for positive in pending { recentPositives.append(positive) }
        pending.removeAll(keepingCapacity: true)
        let examples = batch
        return examples.withUnsafeBufferPointer { trainBatch($0, freeItems: freeItems) }
    }

    /// Trains on already-resolved positives in batches of `trainingBatchSize`, without drawing recent positives;
    /// returns the steps applied.
    func train(on positives: UnsafeBufferPointer<PositiveExample>, freeItems: ExcludedItems) -> Int {
        let size = configuration.trainingBatchSize
        var start = 0
        var applied = 0
        while start < positives.count {
            let end = min(start + size, positives.count)
            if trainBatch(UnsafeBufferPointer(rebasing: positives[start..<end]), freeItems: freeItems) { applied += 1 }
            start = end
        }
        return applied
    }

    /// Drops every queued or recent positive that names a released row, and the sampler's memory
    /// of those rows.
    func release(users: Set<Int32>, items: Set<Int32>) {
        let removed = { (positive: PositiveExample) in users.contains(positive.user) || items.contains(positive.item) }
        pending.removeAll(where: removed)
        recentPositives.removeAll(where: removed)
        sampler.forget(users: users, items: items)
    }

    /// Samples a negative for each positive and applies one BPR step; true when it was applied.
    private func trainBatch(_ positives: UnsafeBufferPointer<PositiveExample>, freeItems: ExcludedItems) -> Bool {
        let count = positives.count
        if negatives.count < count { negatives = [Int32](repeating: -1, count: count) }
        let context = SamplingContext(model: tables.model, history: tables.history, exposure: tables.exposure, freeItems: freeItems)
        sampler.learn(from: positives, context: context, random: &random)
        let generates = sampler.generatesVectors
        if generates {
            let stride = tables.model.stride
            if syntheticVectors.count < count * stride { syntheticVectors = [Float](repeating: 0, count: count * stride) }
            if mixingWeights.count < count { mixingWeights = [Float](repeating: 0, count: count) }
        }
        sampler.prepare(context: context)
        let batchSeed = random.next()
        let deconfounding = configuration.deconfounding
        if deconfounding.trainingExponent > 0 {
            exposureWeights.beginBatch(itemCount: tables.model.itemCount, version: tables.exposure.version)
        }
        if triplets.count < count { triplets = [TrainingTriplet](repeating: TrainingTriplet(user: 0, positive: 0, negative: -1), count: count) }
        if weightMisses.count < count { weightMisses = [UInt8](repeating: 0, count: count) }
        let perPositive = sampler.observationsPerPositive
        if perPositive > 0 {
            if observedItems.count < count * perPositive {
                observedItems = [Int32](repeating: -1, count: count * perPositive)
                observedValues = [Float](repeating: 0, count: count * perPositive)
            }
            observedItems.withUnsafeMutableBufferPointer { items in
                observedValues.withUnsafeMutableBufferPointer { values in
                    let observations = NegativeObservations(items: items.baseAddress!, values: values.baseAddress!, perPositive: perPositive)
                    observations.clear(count: count)
                    drawNegatives(for: positives, generates: generates, batchSeed: batchSeed, observations: observations, context: context)
                    sampler.absorb(observations, for: positives)
                }
            }
        } else {
            drawNegatives(for: positives, generates: generates, batchSeed: batchSeed, observations: nil, context: context)
        }
        if deconfounding.trainingExponent > 0 { keepComputedWeights(count: count) }
        let cnsdiff = configuration.sampler.cnsdiff
        let latent = sampler.generatedNegatives
        if latent != nil && cnsdiff.invarianceWeight > 0 {
            let invariance = LossInvariance(weight: cnsdiff.invarianceWeight, environmentCount: configuration.exposure.environmentCount)
            let exposure = tables.exposure
            _ = triplets.withUnsafeMutableBufferPointer { all in
                invariance.reweigh(UnsafeMutableBufferPointer(rebasing: all[0..<count]), model: tables.model) { exposure.environment(of: $0) }
            }
        }
        let contrastive = generates && cnsdiff.contrastiveWeight > 0
            ? ContrastiveTerm(weight: Float(cnsdiff.contrastiveWeight), temperature: Float(cnsdiff.contrastiveTemperature),
                              seed: SplitMix64.mix(batchSeed, 0xC0_17A5))
            : nil
        if let latent, cnsdiff.termWeight > 0 {
            if generatedSlots.count < count { generatedSlots = [Int32](repeating: -1, count: count) }
            for index in 0..<count { generatedSlots[index] = latent.slot(of: positives[index].user) }
        }
        lastLoss = triplets.withUnsafeBufferPointer { all in
            let batch = UnsafeBufferPointer(rebasing: all[0..<count])
            return syntheticVectors.withUnsafeBufferPointer { vectors in
                func train(_ terms: GeneratedTerms?) -> Float {
                    trainer.train(batch, synthetic: generates ? vectors.baseAddress : nil, contrastive: contrastive,
                                  generated: terms, link: deconfounding.trainingLink)
                }
                guard let latent, cnsdiff.termWeight > 0 else { return train(nil) }
                return generatedSlots.withUnsafeBufferPointer { slots in
                    latent.withVectors { latentVectors in
                        train(GeneratedTerms(vectors: latentVectors, slots: slots.baseAddress!, perUser: latent.perUser,
                                             weight: Float(cnsdiff.termWeight), filter: cnsdiff.filterGenerated))
                    }
                }
            }
        }
        return !trainer.lastStepRefused
    }

    /// Draws the negatives and builds the batch's examples (with their exposure weights) in
    /// parallel chunks.
    private func drawNegatives(for positives: UnsafeBufferPointer<PositiveExample>, generates: Bool, batchSeed: UInt64,
                               observations: NegativeObservations?, context: SamplingContext)
    {
        let count = positives.count
        let chunks = (count + Self.samplingChunk - 1) / Self.samplingChunk
        let threads = max(1, min(configuration.model.threads, chunks))
        let prepared = sampler
        let rowStride = tables.model.stride
        let weighting = ExampleWeighting(configuration.deconfounding)
        let exposure = tables.exposure
        exposure.withRelativeExposures { exposures in
        negatives.withUnsafeMutableBufferPointer { output in
            syntheticVectors.withUnsafeMutableBufferPointer { vectors in
                mixingWeights.withUnsafeMutableBufferPointer { mix in
                    triplets.withUnsafeMutableBufferPointer { examples in
                        weightMisses.withUnsafeMutableBufferPointer { misses in
                            exposureWeights.withCurrentValues { cached in
                                ParallelWork.run(parts: threads) { part in
                                    var local = prepared
                                    for chunk in stride(from: part, to: chunks, by: threads) {
                                        let range = (chunk * Self.samplingChunk)..<min(count, (chunk + 1) * Self.samplingChunk)
                                        var generator = Xoshiro256(seed: SplitMix64.mix(batchSeed, UInt64(chunk)))
                                        let synthetic = generates
                                            ? SyntheticNegatives(vectors: vectors.baseAddress! + range.lowerBound * rowStride,
                                                                 stride: rowStride, mix: mix.baseAddress! + range.lowerBound)
                                            : nil
                                        local.sampleNegatives(for: UnsafeBufferPointer(rebasing: positives[range]),
                                                              into: UnsafeMutableBufferPointer(rebasing: output[range]),
                                                              synthetic: synthetic, observations: observations?.starting(at: range.lowerBound),
                                                              context: context, random: &generator)
                                        for index in range {
                                            var triplet = TrainingTriplet(user: positives[index].user, positive: positives[index].item,
                                                                          negative: output[index], mix: generates ? mix[index] : 0)
                                            misses[index] = 0
                                            if triplet.negative >= 0 {
                                                misses[index] = weighting.weigh(&triplet, positive: positives[index], cached: cached,
                                                                                   exposures: exposures)
                                            }
                                            examples[index] = triplet
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        }
    }

    /// Stores the exposure weights the parallel chunks computed for items the cache did not hold,
    /// so the next batches over the same exposure estimate find them.
    private func keepComputedWeights(count: Int) {
        for index in 0..<count where weightMisses[index] != 0 {
            let triplet = triplets[index]
            if weightMisses[index] & ExampleWeighting.positiveMissed != 0 {
                exposureWeights.store(triplet.positiveWeight, for: triplet.positive)
            }
            if weightMisses[index] & ExampleWeighting.negativeMissed != 0 {
                exposureWeights.store(triplet.negativeWeight, for: triplet.negative)
            }
        }
    }
}

extension TrainingQueue {
    /// What the sampler's negatives for `positives` look like now (the sampler learns nothing
    /// from them), for backtest reports.
    package func diagnoseNegatives(_ positives: [PositiveExample], freeItems: [Int32] = []) -> NegativeDiagnostics {
        NegativeDiagnostics.measure(sampler, positives: positives,
                                    context: SamplingContext(model: tables.model, history: tables.history, exposure: tables.exposure,
                                                             freeItems: ExcludedItems(sorted: freeItems)))
    }
}

extension TrainingQueue {
    /// The queued and recent positives of each of `users` (recent ones oldest first), in one pass
    /// over the queue and the ring whatever the number of users.
    func positives(of users: Set<Int32>) -> [Int32: (pending: [PositiveExample], recent: [PositiveExample])] {
        var result: [Int32: (pending: [PositiveExample], recent: [PositiveExample])] = [:]
        for positive in pending where users.contains(positive.user) { result[positive.user, default: ([], [])].pending.append(positive) }
        for positive in recentPositives.oldestFirst where users.contains(positive.user) {
            result[positive.user, default: ([], [])].recent.append(positive)
        }
        return result
    }

    /// Adds positives of an imported user: queued ones join the queue, recent ones the ring (as
    /// the newest entries, oldest first).
    func adopt(pending imported: [PositiveExample], recent: [PositiveExample]) {
        pending.append(contentsOf: imported)
        for positive in recent { recentPositives.append(positive) }
    }
}
