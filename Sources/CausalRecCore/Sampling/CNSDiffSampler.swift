/// `cnsdiff` (version 2): the `causal` sampler's real negative at full weight, plus latent
/// negatives from the continuously trained conditional diffusion model (docs/method.md, "CNSDiff").
///
/// The denoiser keeps training on recent positives (x₀ = a clicked item, conditioned on the user
/// and the item's exposure environment, ε-prediction). For each user of a batch whose vectors are
/// older than the current snapshot, a DDIM chain from pure noise — conditioned on the user and on
/// an environment drawn from P(E) over items (the intervention) — keeps its state at each stop
/// t > 0: states partly denoised towards "an item this user clicks", harder the smaller t. Each
/// click then adds, beside its BPR term with the real negative, one term per kept state on the
/// user's row only, skipping any state that scores as high as the positive (`GeneratedTerms`).
/// No generated vector is blended with a real one.
package struct CNSDiffSampler: NegativeSampler {
    package let diffusion: DiffusionModel
    package let generated: GeneratedNegatives
    package let name: String
    private var causal: CausalNegativeSampler

    package init(configuration: CNSDiffConfiguration, causal: CausalSamplerConfiguration, dimension: Int, environments: Int,
                 name: String = SamplerKind.cnsdiff.rawValue, maxAttempts: Int = 64)
    {
        precondition((try? configuration.validate()) != nil, "cnsdiff stops must be distinct and below steps − 1 (the configuration checks this)")
        // The invariance weight of version 2 acts on the recommender's loss, not the denoiser's.
        var denoiser = configuration
        denoiser.invarianceWeight = 0
        diffusion = DiffusionModel(configuration: denoiser, dimension: dimension, environments: environments)
        // Rows are padded to whole SIMD chunks, as the model's tables are.
        let substitutes = configuration.learnExposure ? SubstituteItems() : nil
        generated = GeneratedNegatives(perUser: configuration.stops.count, stride: (dimension + 7) & ~7, substitutes: substitutes)
        self.name = name
        self.causal = CausalNegativeSampler(configuration: causal, name: name, maxAttempts: maxAttempts)
        self.causal.substitutes = substitutes
    }

    package var generatorVersion: Int { diffusion.version }
    package var generatedNegatives: GeneratedNegatives? { generated }
    package var observationsPerPositive: Int { causal.observationsPerPositive }

    package mutating func learn(from positives: UnsafeBufferPointer<PositiveExample>, context: SamplingContext,
                               random: inout Xoshiro256)
    {
        if generated.substitutes != nil {
            // `cnsdiff-exposure`: the denoiser learns a shown-and-skipped item of each clicking user.
            var shown: [PositiveExample] = []
            for positive in positives {
                context.history.withImpressedNotClicked(by: positive.user) { items in
                    guard !items.isEmpty else { return }
                    shown.append(PositiveExample(user: positive.user, item: items[random.nextIndex(below: items.count)],
                                                 timestamp: positive.timestamp))
                }
            }
            shown.withUnsafeBufferPointer { diffusion.observe($0, model: context.model, exposure: context.exposure, random: &random) }
        } else {
            diffusion.observe(positives, model: context.model, exposure: context.exposure, random: &random)
        }
        generated.refresh(for: positives, snapshot: diffusion.snapshot, layout: diffusion.layout, context: context, random: &random)
    }

    package mutating func prepare(context: SamplingContext) {
        causal.prepare(context: context)
    }

    package mutating func sampleNegatives(for positives: UnsafeBufferPointer<PositiveExample>,
                                         into negatives: UnsafeMutableBufferPointer<Int32>,
                                         synthetic: SyntheticNegatives?, context: SamplingContext,
                                         random: inout Xoshiro256)
    {
        causal.sampleNegatives(for: positives, into: negatives, synthetic: nil, context: context, random: &random)
    }

    package mutating func sampleNegatives(for positives: UnsafeBufferPointer<PositiveExample>,
                                         into negatives: UnsafeMutableBufferPointer<Int32>,
                                         synthetic: SyntheticNegatives?, observations: NegativeObservations?,
                                         context: SamplingContext, random: inout Xoshiro256)
    {
        causal.sampleNegatives(for: positives, into: negatives, synthetic: nil, observations: observations,
                               context: context, random: &random)
    }

    package mutating func absorb(_ observations: NegativeObservations, for positives: UnsafeBufferPointer<PositiveExample>) {
        causal.absorb(observations, for: positives)
    }

    // MARK: State

    package mutating func forget(users: Set<Int32>, items: Set<Int32>) {
        causal.forget(users: users, items: items)
        diffusion.forget(users: users, items: items)
        generated.forget(users: users)
    }

    package func writeState(to writer: inout StateWriter) {
        causal.writeState(to: &writer)
        diffusion.writeState(to: &writer)
        generated.writeState(to: &writer, dimension: diffusion.layout.dimension)
    }

    package mutating func readState(from reader: inout StateReader) throws {
        try causal.readState(from: &reader)
        try diffusion.readState(from: &reader)
        try generated.readState(from: &reader, dimension: diffusion.layout.dimension)
    }

    package func validateRestored(_ context: RestoredStateContext) throws {
        try causal.validateRestored(context)
        try diffusion.validateRestored(context)
        try generated.validateRestored(context, snapshotVersion: diffusion.version)
    }
}
