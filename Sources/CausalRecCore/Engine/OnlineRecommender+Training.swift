/// Training: positives are queued per click; every `trainingBatchSize` of them, mixed with
/// replayed past positives, the sampler draws negatives (in parallel chunks with their own
/// generators, so results do not depend on the thread count) and one BPR step is applied.
extension OnlineRecommender {
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

    func trainPending() {
        batch.removeAll(keepingCapacity: true)
        batch.append(contentsOf: pending)
        if !replay.isEmpty {
            for _ in 0..<(pending.count * configuration.replayPerPositive) {
                batch.append(replay[slot: random.nextIndex(below: replay.count)])
            }
        }
        for positive in pending { replay.append(positive) }
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
        sampler.learn(from: positives, context: context, random: &random)
        let generates = sampler.generatesVectors
        if generates {
            let stride = model.stride
            if syntheticVectors.count < count * stride { syntheticVectors = [Float](repeating: 0, count: count * stride) }
            if mixingWeights.count < count { mixingWeights = [Float](repeating: 0, count: count) }
        }
        sampler.prepare(context: context)
        let batchSeed = random.next()
        let chunks = (count + Self.samplingChunk - 1) / Self.samplingChunk
        let threads = max(1, min(configuration.model.threads, chunks))
        let prepared = sampler
        let rowStride = model.stride
        negatives.withUnsafeMutableBufferPointer { output in
            syntheticVectors.withUnsafeMutableBufferPointer { vectors in
                mixingWeights.withUnsafeMutableBufferPointer { mix in
                    ParallelWork.run(parts: threads) { part in
                        var local = prepared
                        for chunk in stride(from: part, to: chunks, by: threads) {
                            let range = (chunk * Self.samplingChunk)..<min(count, (chunk + 1) * Self.samplingChunk)
                            var generator = Xoshiro256(seed: SplitMix64.mix(batchSeed, UInt64(chunk)))
                            let synthetic = generates
                                ? SyntheticNegatives(vectors: vectors.baseAddress! + range.lowerBound * rowStride, stride: rowStride,
                                                     mix: mix.baseAddress! + range.lowerBound)
                                : nil
                            local.sampleNegatives(for: UnsafeBufferPointer(rebasing: positives[range]),
                                                  into: UnsafeMutableBufferPointer(rebasing: output[range]),
                                                  synthetic: synthetic, context: context, random: &generator)
                        }
                    }
                }
            }
        }
        triplets.removeAll(keepingCapacity: true)
        let deconfounding = configuration.deconfounding
        let weighted = deconfounding.trainingExponent > 0 || deconfounding.propensityWeightExponent > 0
        for index in 0..<count {
            var triplet = TrainingTriplet(user: positives[index].user, positive: positives[index].item,
                                          negative: negatives[index], mix: generates ? mixingWeights[index] : 0)
            if weighted && triplet.negative >= 0 { weigh(&triplet, positive: positives[index], deconfounding) }
            triplets.append(triplet)
        }
        let cnsdiff = configuration.sampler.cnsdiff
        let contrastive = generates && cnsdiff.contrastiveWeight > 0
            ? ContrastiveTerm(weight: Float(cnsdiff.contrastiveWeight), temperature: Float(cnsdiff.contrastiveTemperature),
                              seed: SplitMix64.mix(batchSeed, 0xC0_17A5))
            : nil
        lastTrainingLoss = triplets.withUnsafeBufferPointer { batch in
            syntheticVectors.withUnsafeBufferPointer { vectors in
                trainer.train(batch, synthetic: generates ? vectors.baseAddress : nil, contrastive: contrastive,
                              link: deconfounding.trainingLink)
            }
        }
        // A refused step (a non-finite gradient) changed no row: the version stays.
        if !trainer.lastStepRefused { modelVersion += 1 }
    }

    /// The exposure weights of one example: r^γ for the positive (its exposure when clicked, or
    /// the current one offline) and for the negative (now), and (1/r_i)^exponent, clipped, as the
    /// example's weight when propensity weighting is on.
    private func weigh(_ triplet: inout TrainingTriplet, positive: PositiveExample, _ deconfounding: DeconfoundingConfiguration) {
        let floor = deconfounding.exposureFloor
        let positiveExposure = positive.exposure > 0 ? Double(positive.exposure) : max(exposure.relativeExposure(of: positive.item), floor)
        let negativeExposure = max(exposure.relativeExposure(of: triplet.negative), floor)
        if deconfounding.trainingExponent > 0 {
            // Capped at Float's largest finite value: r^γ overflows for large relative exposures.
            triplet.positiveWeight = Float(min(_pow(positiveExposure, deconfounding.trainingExponent), Double(Float.greatestFiniteMagnitude)))
            triplet.negativeWeight = Float(min(_pow(negativeExposure, deconfounding.trainingExponent), Double(Float.greatestFiniteMagnitude)))
        }
        if deconfounding.propensityWeightExponent > 0 {
            triplet.weight = Float(min(deconfounding.propensityClip, _pow(1 / positiveExposure, deconfounding.propensityWeightExponent)))
        }
    }
}
