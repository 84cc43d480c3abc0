/// What a sampler may look at. The references are read-only by convention: a sampler must not
/// change the model, history or exposure state.
package struct SamplingContext {
    package let model: MatrixFactorization
    package let history: InteractionHistory
    package let exposure: ExposureEstimator
    /// Item rows without an item (evicted, not yet reused): never a negative.
    package let freeItems: ExcludedItems

    package init(model: MatrixFactorization, history: InteractionHistory, exposure: ExposureEstimator,
                freeItems: ExcludedItems = .none)
    {
        self.model = model
        self.history = history
        self.exposure = exposure
        self.freeItems = freeItems
    }
}

/// Chooses one negative item per positive, for a whole batch at once (so samplers that score
/// candidates or run a generator can batch the work). A generative sampler also synthesises a
/// vector per positive (`generatesVectors`) and learns from the stream (`learn`).
package protocol NegativeSampler {
    /// The name used in configuration and reports.
    var name: String { get }

    /// Whether `sampleNegatives` fills a `SyntheticNegatives` buffer (the recommender then trains
    /// on the mix of the real negative and the vector).
    var generatesVectors: Bool { get }

    /// Version of the generator snapshot in use (0 for samplers without one).
    var generatorVersion: Int { get }

    /// Latent negatives per user that training adds as extra terms on the user's row (`cnsdiff`);
    /// nil for samplers that draw real items only.
    var generatedNegatives: GeneratedNegatives? { get }

    /// Learns from a batch of positives before negatives are drawn for it (once per batch,
    /// serially, with the recommender's generator).
    mutating func learn(from positives: UnsafeBufferPointer<PositiveExample>, context: SamplingContext,
                        random: inout Xoshiro256)

    /// Brings cached state up to date before a batch (e.g. a sampling table). Called once per
    /// batch, before `sampleNegatives` runs — possibly on copies of this sampler in parallel,
    /// which therefore must not change state the batch depends on.
    mutating func prepare(context: SamplingContext)

    /// Writes a negative item row for each positive into `negatives`, or −1 where none exists,
    /// and — for a sampler that `generatesVectors`, when `synthetic` is given — a synthetic vector
    /// and mixing weight per positive. All randomness comes from `random`. May run on copies of
    /// the sampler in parallel (see `prepare`).
    mutating func sampleNegatives(for positives: UnsafeBufferPointer<PositiveExample>,
                                  into negatives: UnsafeMutableBufferPointer<Int32>,
                                  synthetic: SyntheticNegatives?,
                                  context: SamplingContext, random: inout Xoshiro256)

    /// Observation slots per positive the sampler fills while drawing (0: it keeps no memory).
    var observationsPerPositive: Int { get }

    /// `sampleNegatives`, also writing what the sampler observed about its candidates into
    /// `observations` (from the chunk's first positive on) when given.
    mutating func sampleNegatives(for positives: UnsafeBufferPointer<PositiveExample>,
                                  into negatives: UnsafeMutableBufferPointer<Int32>,
                                  synthetic: SyntheticNegatives?, observations: NegativeObservations?,
                                  context: SamplingContext, random: inout Xoshiro256)

    /// Takes in the observations of a whole drawn batch, in positive order (once per batch,
    /// serially, before the step).
    mutating func absorb(_ observations: NegativeObservations, for positives: UnsafeBufferPointer<PositiveExample>)

    /// Users and items left the state (forgotten or evicted); their rows may soon hold others.
    mutating func forget(users: Set<Int32>, items: Set<Int32>)

    /// Writes whatever the sampler keeps between batches (tables, generators), for checkpoints.
    func writeState(to writer: inout StateWriter)

    /// Restores what `writeState` wrote.
    mutating func readState(from reader: inout StateReader) throws

    /// Checks restored state against the rest of the restored recommender (rows it names exist
    /// and are in use), so a crafted checkpoint is refused before a draw indexes past a table.
    func validateRestored(_ context: RestoredStateContext) throws
}

extension NegativeSampler {
    package var generatesVectors: Bool { false }
    package var generatorVersion: Int { 0 }
    package var generatedNegatives: GeneratedNegatives? { nil }

    package mutating func learn(from positives: UnsafeBufferPointer<PositiveExample>, context: SamplingContext,
                               random: inout Xoshiro256) {}

    package mutating func prepare(context: SamplingContext) {}

    package mutating func forget(users: Set<Int32>, items: Set<Int32>) {}

    package var observationsPerPositive: Int { 0 }

    package mutating func sampleNegatives(for positives: UnsafeBufferPointer<PositiveExample>,
                                         into negatives: UnsafeMutableBufferPointer<Int32>,
                                         synthetic: SyntheticNegatives?, observations: NegativeObservations?,
                                         context: SamplingContext, random: inout Xoshiro256)
    {
        sampleNegatives(for: positives, into: negatives, synthetic: synthetic, context: context, random: &random)
    }

    package mutating func absorb(_ observations: NegativeObservations, for positives: UnsafeBufferPointer<PositiveExample>) {}

    /// Stateless samplers write nothing.
    package func writeState(to writer: inout StateWriter) {}
    package mutating func readState(from reader: inout StateReader) throws {}
    package func validateRestored(_ context: RestoredStateContext) throws {}
}

/// A sampler that draws a real item for one positive at a time (every sampler but the
/// generative one): the batch is a loop over `negative(for:)`.
package protocol ItemNegativeSampler: NegativeSampler {
    /// A negative item row for `positive`, or −1 when none exists.
    mutating func negative(for positive: PositiveExample, context: SamplingContext, random: inout Xoshiro256) -> Int32
}

extension ItemNegativeSampler {
    package mutating func sampleNegatives(for positives: UnsafeBufferPointer<PositiveExample>,
                                         into negatives: UnsafeMutableBufferPointer<Int32>,
                                         synthetic: SyntheticNegatives?,
                                         context: SamplingContext, random: inout Xoshiro256)
    {
        for index in 0..<positives.count {
            negatives[index] = negative(for: positives[index], context: context, random: &random)
        }
    }
}

extension SamplingContext {
    /// A uniform draw among the items `user` has not clicked (and that are not `positive`);
    /// −1 when `attempts` draws all hit clicked items.
    @inline(__always)
    package func uniformNegative(user: Int32, positive: Int32, attempts: Int, random: inout Xoshiro256) -> Int32 {
        let itemCount = model.itemCount
        guard itemCount > 1 else { return -1 }
        for _ in 0..<attempts {
            let candidate = Int32(truncatingIfNeeded: random.nextIndex(below: itemCount))
            if candidate != positive && !history.hasClicked(user: user, item: candidate) && !freeItems.contains(candidate) {
                return candidate
            }
        }
        return -1
    }
}
