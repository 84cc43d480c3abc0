/// `causal`: real negatives, drawn by the exposure-causal rules, no generator
/// (docs/method.md, "The causal sampler").
///
/// Per positive (u, i) a pool of candidates is scored with the current model:
/// - u's remembered candidates (`CandidateMemory`), whose statistics the filter and the
///   selection use;
/// - up to `exposedShare` of the pool from the items u was shown and did not click (observed
///   negatives, when the data has impressions);
/// - the rest by the backdoor rule: an environment e — the positive's own with probability ρ
///   (a matched contrast: popularity cannot tell the pair apart), otherwise drawn from P(E) over
///   items — then a uniform item of e that u has not clicked.
/// A remembered candidate the model has kept ranking above u's positives, with little variance,
/// is dropped as a likely false negative (SRNS). Of the rest, the one whose cosine to u is
/// closest to a target set by the positive's own cosine (AHNS: β·(cos(u, i) + α)^(p+1), easier
/// as the positive scores better), less a bonus for the variance of its remembered statistic,
/// is the negative; with no target (cos + α ≤ 0) the highest-scored one is (DNS).
///
/// The negative is a real item trained by plain BPR with its own exposure weight. The memory is
/// updated from the observations of a whole batch (`absorb`), so draws do not depend on the
/// thread count.
package struct CausalNegativeSampler: NegativeSampler {
    package let configuration: CausalSamplerConfiguration
    package let maxAttempts: Int
    private var memory: CandidateMemory
    private var environments = EnvironmentItems()
    /// Stand-ins for the shown items of users who have few (`cnsdiff-exposure`); nil otherwise.
    package var substitutes: SubstituteItems?

    package let name: String

    package init(configuration: CausalSamplerConfiguration, name: String = SamplerKind.causal.rawValue, maxAttempts: Int = 64) {
        self.configuration = configuration
        self.name = name
        self.maxAttempts = maxAttempts
        memory = CandidateMemory(slots: configuration.memorySlots)
    }


    /// With a pool: the remembered candidates' new values, the chosen negative and the candidate
    /// most above the positive; with `uniform` selection: the chosen negative.
    package var observationsPerPositive: Int {
        guard configuration.memorySlots > 0 else { return 0 }
        return configuration.selection == .uniform ? 1 : configuration.memorySlots + 2
    }

    /// Candidates the memory holds now (reports and tests).
    package var rememberedCandidates: Int { memory.rememberedCount }

    package mutating func prepare(context: SamplingContext) {
        environments.refreshIfStale(context.exposure, refreshEvery: configuration.refreshEvery)
        memory.grow(users: context.model.userCount)
    }

    package mutating func sampleNegatives(for positives: UnsafeBufferPointer<PositiveExample>,
                                         into negatives: UnsafeMutableBufferPointer<Int32>,
                                         synthetic: SyntheticNegatives?, context: SamplingContext,
                                         random: inout Xoshiro256)
    {
        sampleNegatives(for: positives, into: negatives, synthetic: synthetic, observations: nil, context: context, random: &random)
    }

    package mutating func sampleNegatives(for positives: UnsafeBufferPointer<PositiveExample>,
                                         into negatives: UnsafeMutableBufferPointer<Int32>,
                                         synthetic: SyntheticNegatives?, observations: NegativeObservations?,
                                         context: SamplingContext, random: inout Xoshiro256)
    {
        let capacity = configuration.candidates + configuration.memorySlots
        environments.withView { environments in
            memory.withView { memory in
                withUnsafeTemporaryAllocation(of: Candidate.self, capacity: capacity) { pool in
                    let state = ChunkState(environments: environments, memory: memory, pool: pool, rows: ModelRows(context.model),
                                           substitutes: substitutes)
                    for index in 0..<positives.count {
                        negatives[index] = Self.negative(for: positives[index], state: state,
                                                         observations: observations?.starting(at: index),
                                                         configuration: configuration, maxAttempts: maxAttempts,
                                                         context: context, random: &random)
                    }
                }
            }
        }
    }

    /// What the draws of one chunk read: the sampler's tables as unsafe views and the pool buffer.
    struct ChunkState {
        let environments: EnvironmentItems.View
        let memory: CandidateMemory.View
        let pool: UnsafeMutableBufferPointer<Candidate>
        let rows: ModelRows
        let substitutes: SubstituteItems?
    }

    /// The model's tables as raw pointers, read once per chunk: going through the model's class
    /// properties per positive would retain and release them, and the threads would contend on
    /// the shared reference counts.
    struct ModelRows {
        let users: UnsafeMutablePointer<Float>
        let items: UnsafeMutablePointer<Float>
        let bias: UnsafeMutablePointer<Float>?
        let stride: Int
        let userCount: Int
        let itemCount: Int

        init(_ model: MatrixFactorization) {
            userCount = model.userCount
            itemCount = model.itemCount
            users = model.users.storage
            items = model.items.storage
            bias = model.configuration.useItemBias ? model.itemBias.pointer : nil
            stride = model.stride
        }

        @inline(__always) func user(_ row: Int32) -> UnsafePointer<Float> { UnsafePointer(users + Int(row) &* stride) }
        @inline(__always) func item(_ row: Int32) -> UnsafePointer<Float> { UnsafePointer(items + Int(row) &* stride) }
        @inline(__always) func bias(_ row: Int32) -> Float { bias?[Int(row)] ?? 0 }
    }

    /// One scored candidate of the pool.
    struct Candidate {
        var item: Int32
        /// Its memory entry, or −1.
        var entry: Int32
        var score: Float
        var cosine: Float
    }

    /// Static, like the helpers below: a closure here that captured `self` would copy the sampler
    /// (and retain its tables) once per positive, and the reference counts of the tables, shared by
    /// the threads' copies, would make the threads wait on each other.
    private static func negative(for positive: PositiveExample, state: ChunkState, observations: NegativeObservations?,
                                 configuration: CausalSamplerConfiguration, maxAttempts: Int,
                                 context: SamplingContext, random: inout Xoshiro256) -> Int32
    {
        let environments = state.environments
        let memory = state.memory
        let pool = state.pool
        let rows = state.rows
        let user = positive.user
        guard Int(user) < rows.userCount, Int(positive.item) < rows.itemCount else {
            return context.uniformNegative(user: user, positive: positive.item, attempts: maxAttempts, random: &random)
        }
        @inline(__always) func usable(_ item: Int32) -> Bool {
            item >= 0 && Int(item) < rows.itemCount && item != positive.item
                && !context.history.hasClicked(user: user, item: item) && !context.freeItems.contains(item)
        }
        return context.history.withImpressedNotClicked(by: user) { shown in
            let ownEnvironment = environments.environment(of: positive.item)
            /// One candidate by the pool's rules: a shown-and-skipped item with probability
            /// `exposedShare` (when u has any), otherwise the backdoor rule.
            let extra: ArraySlice<Int32> = state.substitutes.map { shown.count < SubstituteItems.belowShown ? $0.items(of: user) : [] } ?? []
            func draw(_ random: inout Xoshiro256) -> Int32 {
                if (!shown.isEmpty || !extra.isEmpty) && random.nextUnitDouble() < configuration.exposedShare {
                    let index = random.nextIndex(below: shown.count + extra.count)
                    let item = index < shown.count ? shown[index] : extra[extra.startIndex + index - shown.count]
                    return usable(item) ? item : -1
                }
                let environment = random.nextUnitDouble() < configuration.matchedEnvironment || environments.isEmpty
                    ? ownEnvironment : environments.drawEnvironment(&random)
                for _ in 0..<4 {
                    let candidate = environments.isEmpty ? -1 : environments.drawItem(in: environment, &random)
                    if usable(candidate) { return candidate }
                }
                return context.uniformNegative(user: user, positive: positive.item, attempts: maxAttempts, random: &random)
            }
            if configuration.selection == .uniform {
                return firstUnfiltered(positive: positive, memory: memory, observations: observations, rows: state.rows,
                                       configuration: configuration, random: &random, draw: draw)
            }
            var count = 0
            // The remembered candidates join the pool, so their statistics are refreshed.
            for entry in memory.entries(of: user) where usable(memory.item(at: entry)) {
                pool[count] = Candidate(item: memory.item(at: entry), entry: Int32(entry), score: 0, cosine: 0)
                count += 1
            }
            for _ in 0..<configuration.candidates {
                let item = draw(&random)
                if item >= 0 {
                    pool[count] = Candidate(item: item, entry: -1, score: 0, cosine: 0)
                    count += 1
                }
            }
            guard count > 0 else { return -1 }
            return choose(from: UnsafeMutableBufferPointer(rebasing: pool[0..<count]), positive: positive, memory: memory,
                          observations: observations, model: context.model, configuration: configuration)
        }
    }

    /// `uniform` selection: candidates drawn one at a time, the first one not remembered as
    /// stably above the user's positives is the negative; only it (and the positive) is scored,
    /// for the observation that keeps the memory.
    private static func firstUnfiltered(positive: PositiveExample, memory: CandidateMemory.View, observations: NegativeObservations?,
                                        rows: ModelRows, configuration: CausalSamplerConfiguration,
                                        random: inout Xoshiro256, draw: (inout Xoshiro256) -> Int32) -> Int32
    {
        let entries = memory.entries(of: positive.user)
        for _ in 0..<max(configuration.candidates, 1) {
            let item = draw(&random)
            guard item >= 0 else { continue }
            if let entry = entries.first(where: { memory.item(at: $0) == item }), isFiltered(entry, memory, configuration) { continue }
            if let observations {
                let (xi, xj) = VectorKernels.dotPair(rows.user(positive.user), rows.item(positive.item), rows.item(item), length: rows.stride)
                observations.items[0] = item
                observations.values[0] = sigmoid((xj + rows.bias(item)) - (xi + rows.bias(positive.item)))
            }
            return item
        }
        return -1
    }

    /// A remembered candidate the model has kept ranking above the user's positives, with
    /// little variance: a likely false negative.
    @inline(__always)
    private static func isFiltered(_ entry: Int, _ memory: CandidateMemory.View, _ configuration: CausalSamplerConfiguration) -> Bool {
        memory.count(at: entry) >= configuration.filterObservations
            && memory.mean(at: entry) - memory.deviation(at: entry) > Float(configuration.filterThreshold)
    }

    /// Scores the pool, filters it and picks the negative; writes the observations.
    private static func choose(from pool: UnsafeMutableBufferPointer<Candidate>, positive: PositiveExample, memory: CandidateMemory.View,
                               observations: NegativeObservations?, model: MatrixFactorization,
                               configuration: CausalSamplerConfiguration) -> Int32
    {
        let stride = model.stride
        let useBias = model.configuration.useItemBias
        let p = UnsafePointer(model.users.row(positive.user))
        let userNorm = VectorKernels.dot(p, p, length: stride).squareRoot()
        @inline(__always) func scored(_ item: Int32) -> (score: Float, cosine: Float) {
            let q = UnsafePointer(model.items.row(item))
            let (dot, squared) = VectorKernels.dotPair(q, p, q, length: stride)
            let norms = userNorm * squared.squareRoot()
            return (dot + (useBias ? model.itemBias[Int(item)] : 0), norms > 0 ? dot / norms : 0)
        }
        let positiveScore = scored(positive.item)
        let shifted = Double(positiveScore.cosine) + configuration.hardnessAlpha
        let target: Float? = shifted > 0 && configuration.selection == .adaptive
            ? Float(configuration.hardnessBeta * _pow(shifted, configuration.hardnessPower + 1)) : nil
        let bonus = Float(configuration.varianceBonus)
        var best = -1
        var bestKey = Float.infinity
        var above = -1
        var aboveValue: Float = 0.5
        for index in pool.indices {
            let (score, cosine) = scored(pool[index].item)
            pool[index].score = score
            pool[index].cosine = cosine
            let value = sigmoid(score - positiveScore.score)
            var deviation: Float = 0
            let entry = Int(pool[index].entry)
            if entry >= 0 {
                deviation = memory.deviation(at: entry)
                if isFiltered(entry, memory, configuration) { continue }
            } else if value > aboveValue {
                above = index
                aboveValue = value
            }
            let key: Float = switch configuration.selection {
            case .adaptive: target.map { abs(cosine - $0) - bonus * deviation } ?? -(score + bonus * deviation)
            case .hardest: -(score + bonus * deviation)
            case .uniform: Float(index)
            }
            if key < bestKey {
                bestKey = key
                best = index
            }
        }
        if let observations {
            var slot = 0
            @inline(__always) func note(_ index: Int) {
                guard slot < observations.perPositive else { return }
                observations.items[slot] = pool[index].item
                observations.values[slot] = sigmoid(pool[index].score - positiveScore.score)
                slot += 1
            }
            for index in pool.indices where pool[index].entry >= 0 { note(index) }
            if best >= 0 && pool[best].entry < 0 { note(best) }
            if above >= 0 && above != best { note(above) }
        }
        // Every candidate filtered: the first drawn one (uniform among the environment draws).
        if best < 0 { return pool.first(where: { $0.entry < 0 })?.item ?? -1 }
        return pool[best].item
    }

    package mutating func absorb(_ observations: NegativeObservations, for positives: UnsafeBufferPointer<PositiveExample>) {
        let rate = Float(configuration.memoryRate)
        for index in 0..<positives.count {
            let base = index * observations.perPositive
            for slot in 0..<observations.perPositive where observations.items[base + slot] >= 0 {
                // Only candidates seen above the positive become entries: the memory tracks suspects.
                memory.observe(user: positives[index].user, item: observations.items[base + slot],
                               value: observations.values[base + slot], rate: rate,
                               insert: observations.values[base + slot] > 0.5)
            }
        }
    }

    package mutating func forget(users: Set<Int32>, items: Set<Int32>) {
        memory.forget(users: users, items: items)
    }

    // MARK: State

    package func writeState(to writer: inout StateWriter) {
        memory.writeState(to: &writer)
        environments.writeState(to: &writer)
    }

    package mutating func readState(from reader: inout StateReader) throws {
        try memory.readState(from: &reader)
        try environments.readState(from: &reader)
    }

    package func validateRestored(_ context: RestoredStateContext) throws {
        try memory.validateRestored(itemCount: context.itemCount, userCount: context.userCount)
        try environments.validateRestored(context)
    }
}
