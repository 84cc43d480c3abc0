import CVectorKernels

/// One BPR training example: the user preferred `positive` over `negative`.
package struct TrainingTriplet: Sendable, Equatable {
    package var user: Int32
    package var positive: Int32
    package var negative: Int32
    /// λ of a mixed negative z = λ·g + (1 − λ)·q_negative, g being this example's row of the
    /// synthetic vectors passed to `train`; 0 = the real negative alone.
    package var mix: Float
    /// Exposure weights w of the deconfounded score g(x)·w of the positive and the negative.
    package var positiveWeight: Float
    package var negativeWeight: Float
    /// The example's weight in the loss (propensity weighting).
    package var weight: Float

    package init(user: Int32, positive: Int32, negative: Int32, mix: Float = 0, positiveWeight: Float = 1,
                negativeWeight: Float = 1, weight: Float = 1)
    {
        self.user = user
        self.positive = positive
        self.negative = negative
        self.mix = mix
        self.positiveWeight = positiveWeight
        self.negativeWeight = negativeWeight
        self.weight = weight
    }

    /// Plain BPR: no exposure weights, no example weight.
    var isPlain: Bool { positiveWeight == 1 && negativeWeight == 1 && weight == 1 }
}

/// Mini-batch BPR (Rendle et al. 2009): loss = −log σ(ŝ(u,i) − ŝ(u,j)).
///
/// A batch is one step: every score uses the weights as they were before the batch. Rows are
/// owned by threads (in blocks of 64 rows), and a batch runs in three phases:
/// 1. each thread takes the examples of the users it owns, in example order: computes
///    g = ∂loss/∂x while the three rows are hot, sums the user's gradient g·(q_i − q_j) into a
///    scratch row, and files the item contributions ±g·p_u (tagged with the example number) under
///    the items' owners, then checks its users' gradients;
/// 2. each thread merges the item contributions filed for it by example number, sums them into
///    scratch rows and checks them;
/// 3. if every gradient is finite, once every thread is done reading the old rows, each applies L2 and the optimizer step to
///    its touched users and items.
/// Every row's gradient is thus summed in example order whatever the thread count, so results
/// are bit for bit the same for 1 or N threads. Buffers are reused: no allocation per example,
/// and no scratch row is zeroed: a row's first contribution of a batch is written onto zero
/// (`start: .zero`), later ones added. With one thread, phase 1 also sums the item gradients,
/// which leaves phase 2 only the check. (Scoring each example on every thread that owns one of
/// its rows, so that each could sum its items' shares directly, was measured slower at 2 threads
/// than filing and merging: 0.79×, BENCHMARKS.md.)
package final class BPRTrainer {
    package let model: MatrixFactorization
    package let threads: Int
    /// The largest Euclidean norm of one row's gradient in one step (and the largest magnitude
    /// of one item bias's): a larger one is scaled down to it. Far above what a healthy batch
    /// produces, it only bounds how far one step can throw a row, so a too-large learning rate
    /// or an extreme exposure weight cannot drive the weights to ±∞ in a few steps.
    package static let gradientClipNorm: Float = 100
    /// Steps refused because a gradient was not finite (NaN or ±∞): nothing of such a step
    /// is written, so the model stays as it was before the batch.
    package private(set) var refusedSteps = 0
    /// Whether the latest `train` call was refused.
    package private(set) var lastStepRefused = false
    /// Row gradients scaled down to `gradientClipNorm` so far.
    package private(set) var clippedGradients = 0
    /// Item contributions filed by thread `from` for owner `to`, at index from·threads + to.
    var itemContributions: [ContributionBuffer<ItemContribution>]
    let workers: [Worker]

    struct ItemContribution {
        var example: Int32
        var item: Int32
        var user: Int32
        var coefficient: Float
    }

    package init(model: MatrixFactorization) {
        self.model = model
        let threads = max(1, model.configuration.threads)
        self.threads = threads
        workers = (0..<threads).map { _ in Worker(dimension: model.dimension) }
        itemContributions = (0..<threads * threads).map { _ in ContributionBuffer() }
    }

    /// Examples whose loss is computed for `train`'s return value (reporting only; a log1p per
    /// example would cost more than the update).
    static let lossSample = 64
    /// One past the last example of the loss sample: the first `lossSample` examples with a
    /// negative, whichever thread owns them, so the estimate does not depend on the thread count.
    private var lossCutoff = 0

    /// Trains on one batch and returns the mean BPR loss before the update (estimated on the
    /// batch's first examples, summed in example order). Examples whose negative is −1 (none found) are skipped.
    /// `synthetic` holds one generated vector per example (`model.stride` floats apart) for the
    /// examples with a mixing weight.
    @discardableResult
    package func train(_ triplets: UnsafeBufferPointer<TrainingTriplet>, synthetic: UnsafePointer<Float>? = nil,
                      contrastive: ContrastiveTerm? = nil, generated: GeneratedTerms? = nil, link: ScoreLink = .identity) -> Float
    {
        guard !triplets.isEmpty else { return 0 }
        // The contrastive term's item gradients are computed up front from the old weights and
        // added by the rows' owners after the BPR contributions, in example order.
        var extra: (contributions: [ContrastiveTerm.Contribution], rows: DenseMatrix, loss: Float)?
        if let contrastive, let synthetic, contrastive.weight > 0 {
            extra = contrastive.gradients(triplets: triplets, synthetic: synthetic, model: model)
        }
        lossCutoff = triplets.count
        var withNegative = 0
        for index in triplets.indices where triplets[index].negative >= 0 {
            withNegative += 1
            if withNegative == Self.lossSample {
                lossCutoff = index + 1
                break
            }
        }
        // Every gradient is checked (and clipped) before any row is written: a step with a
        // non-finite gradient is refused as a whole, so no row ever holds NaN or ±∞. Each owner
        // checks its rows as soon as their sums are complete, while they are in its cache.
        for worker in workers {
            worker.nonFinite = false
            worker.clipped = 0
        }
        ParallelWork.run(parts: threads) { owner in
            accumulateUsers(triplets, synthetic: synthetic, generated: generated, link: link, owner: owner)
            checkGradients(owner: owner, users: true, items: false)
        }
        let extraGradients = extra
        ParallelWork.run(parts: threads) { owner in
            accumulateItems(owner: owner, extra: extraGradients.map { ($0.contributions, $0.rows) })
            checkGradients(owner: owner, users: false, items: true)
        }
        lastStepRefused = workers.contains { $0.nonFinite }
        clippedGradients += workers.reduce(0) { $0 + $1.clipped }
        if lastStepRefused {
            // Nothing to clear: scratch rows are written afresh by the next batch's first
            // contribution, and the slots are released when it starts.
            refusedSteps += 1
            return .nan
        }
        // Steps only after every thread has finished reading the old rows.
        ParallelWork.run(parts: threads) { owner in
            step(owner: owner)
        }
        // Marked here, by one thread: the marks of 64 rows share a word and eight words a cache
        // line, which the owners of neighbouring blocks would otherwise fight over.
        for worker in workers {
            for row in worker.itemSlots.touched { model.changedItems.mark(row) }
        }
        let samples = workers.flatMap(\.lossSamples).sorted { $0.example < $1.example }
        return samples.isEmpty ? 0 : Float(samples.reduce(0) { $0 + $1.loss } / Double(samples.count))
    }

    /// Rows are owned in blocks of 64 consecutive rows: per-row scalars (biases, optimizer state)
    /// of different owners then never share a cache line, which row-by-row interleaving would
    /// make every update fight over (false sharing measured at half the single-thread speed).
    @inline(__always)
    func owner(of row: Int32) -> Int {
        threads == 1 ? 0 : Int(row >> 6) % threads
    }

    /// How many examples ahead phase 1 requests rows.
    static let prefetchDistance = 6

    /// Phase 1 for the users one thread owns. With one thread, the item gradients are summed
    /// here too, straight into their scratch rows: the examples come in example order, which is
    /// the order phase 2's merge would restore, so the sums are bit for bit the same.
    private func accumulateUsers(_ triplets: UnsafeBufferPointer<TrainingTriplet>, synthetic: UnsafePointer<Float>?,
                                 generated: GeneratedTerms?, link: ScoreLink, owner me: Int)
    {
        let worker = workers[me]
        let stride = model.stride
        let users = model.users
        let items = model.items
        let useBias = model.configuration.useItemBias
        let direct = threads == 1
        // The previous batch's slots are released here, by their owner, rather than after the
        // step: the step's caller still reads the touched item rows (`train`).
        worker.userSlots.reset()
        worker.itemSlots.reset()
        worker.userSlots.reserve(rows: model.userCount)
        // Room for the worst case (every example a new user) up front.
        worker.userGradients.grow(to: triplets.count)
        let lists = (0..<threads).map { itemContributions[me * threads + $0] }
        if direct {
            worker.itemSlots.reserve(rows: model.itemCount)
            worker.itemGradients.grow(to: 2 * triplets.count)
            if worker.biasGradients.count < 2 * triplets.count {
                worker.biasGradients.append(contentsOf: repeatElement(0, count: 2 * triplets.count - worker.biasGradients.count))
            }
        } else {
            for list in lists { list.reset(capacity: 2 * triplets.count) }
        }
        worker.lossSamples.removeAll(keepingCapacity: true)
        let plainLink = link == .identity
        model.itemBias.withUnsafeBufferPointer { bias in
            worker.biasGradients.withUnsafeMutableBufferPointer { biasGradients in
                /// An item's share of example `index`: its gradient row gets coefficient · p_u.
                @inline(__always) func file(_ item: Int32, index: Int, user: Int32, p: UnsafePointer<Float>, coefficient: Float) {
                    if direct {
                        var isNew = false
                        let slot = worker.itemSlots.slot(for: item, isNew: &isNew)
                        if isNew {
                            VectorKernels.axpy(coefficient, p, worker.itemGradients.row(slot), length: stride, start: .zero)
                            biasGradients[Int(slot)] = 0 + coefficient
                        } else {
                            VectorKernels.axpy(coefficient, p, worker.itemGradients.row(slot), length: stride)
                            biasGradients[Int(slot)] += coefficient
                        }
                    } else {
                        lists[owner(of: item)].append(ItemContribution(example: Int32(index), item: item, user: user, coefficient: coefficient))
                    }
                }
                let rowBytes = stride * MemoryLayout<Float>.stride
                for index in 0..<triplets.count {
                    // The rows a few examples ahead are requested now, so they arrive while this
                    // example computes (the tables are larger than the core's cache).
                    let ahead = index &+ Self.prefetchDistance
                    if ahead < triplets.count {
                        let next = triplets[ahead]
                        if next.negative >= 0 && owner(of: next.user) == me {
                            cvk_prefetch(users.row(next.user), rowBytes)
                            cvk_prefetch(items.row(next.positive), rowBytes)
                            cvk_prefetch(items.row(next.negative), rowBytes)
                        }
                    }
                    let triplet = triplets[index]
                    guard triplet.negative >= 0, owner(of: triplet.user) == me else { continue }
                    let p = UnsafePointer(users.row(triplet.user))
                    let qi = UnsafePointer(items.row(triplet.positive))
                    var qj = UnsafePointer(items.row(triplet.negative))
                    // A mixed negative z = λ·g + (1 − λ)·q_j (with bias (1 − λ)·b_j): its gradient
                    // reaches q_j and b_j scaled by (1 − λ); g is generated, not learned here.
                    let keep: Float = triplet.mix > 0 && synthetic != nil ? 1 - triplet.mix : 1
                    if keep < 1, let synthetic {
                        VectorKernels.mix(triplet.mix, synthetic + index * stride, keep, qj, into: worker.mixed, length: stride)
                        qj = UnsafePointer(worker.mixed)
                    }
                    var isNewUser = false
                    let slot = worker.userSlots.slot(for: triplet.user, isNew: &isNewUser)
                    let gradient = worker.userGradients.row(slot)
                    let coefficients: (positive: Float, negative: Float)
                    if plainLink && triplet.isPlain {
                        var x = VectorKernels.dotDifference(p, qi, qj, length: stride)
                        if useBias { x += bias[Int(triplet.positive)] - keep * bias[Int(triplet.negative)] }
                        if index < lossCutoff { worker.lossSamples.append((Int32(index), Double(softplus(-x)))) }
                        let g = -sigmoid(-x)
                        if isNewUser {
                            VectorKernels.axpyDifference(g, qi, qj, gradient, length: stride, start: .zero)
                        } else {
                            VectorKernels.axpyDifference(g, qi, qj, gradient, length: stride)
                        }
                        coefficients = (g, -g)
                    } else {
                        // The deconfounded score s = g(x)·w on each side; the loss −weight·log σ(s_i − s_j).
                        // The link's derivative is folded into the two scalars, so the example costs
                        // two dot products in one pass and one two-term update of the user's row.
                        var (xi, xj) = VectorKernels.dotPair(p, qi, qj, length: stride)
                        if useBias {
                            xi += bias[Int(triplet.positive)]
                            xj += keep * bias[Int(triplet.negative)]
                        }
                        let li = link.valueAndDerivative(xi)
                        let lj = link.valueAndDerivative(xj)
                        let delta = li.value * triplet.positiveWeight - lj.value * triplet.negativeWeight
                        if index < lossCutoff { worker.lossSamples.append((Int32(index), Double(softplus(-delta) * triplet.weight))) }
                        let d = -sigmoid(-delta) * triplet.weight
                        let ci = d * li.derivative * triplet.positiveWeight
                        let cj = -d * lj.derivative * triplet.negativeWeight
                        if isNewUser {
                            VectorKernels.axpyPair(ci, qi, cj, qj, gradient, length: stride, start: .zero)
                        } else {
                            VectorKernels.axpyPair(ci, qi, cj, qj, gradient, length: stride)
                        }
                        coefficients = (ci, cj)
                    }
                    if let generated, generated.slots[index] >= 0 {
                        let positiveScore = VectorKernels.dot(p, qi, length: stride) + (useBias ? bias[Int(triplet.positive)] : 0)
                        generated.accumulate(example: index, p: p, qi: qi, positiveScore: positiveScore, into: gradient, stride: stride)
                    }
                    file(triplet.positive, index: index, user: triplet.user, p: p, coefficient: coefficients.positive)
                    file(triplet.negative, index: index, user: triplet.user, p: p, coefficient: coefficients.negative * keep)
                }
            }
        }
    }

    /// Phase 2: the item contributions filed for this thread, merged in example order, then any
    /// extra gradient rows (the contrastive term) for items it owns.
    private func accumulateItems(owner me: Int, extra: ([ContrastiveTerm.Contribution], DenseMatrix)?) {
        let worker = workers[me]
        let stride = model.stride
        let users = model.users
        worker.itemSlots.reserve(rows: model.itemCount)
        // With one thread phase 1 already summed the BPR contributions (`accumulateUsers`).
        let sources = threads == 1 ? [] : (0..<threads).map { itemContributions[$0 * threads + me].elements }
        let total = worker.itemSlots.touched.count + sources.reduce(0) { $0 + $1.count } + (extra?.0.count ?? 0)
        worker.itemGradients.grow(to: total)
        if worker.biasGradients.count < total {
            worker.biasGradients.append(contentsOf: repeatElement(0, count: total - worker.biasGradients.count))
        }
        worker.biasGradients.withUnsafeMutableBufferPointer { biasGradients in
            @inline(__always) func add(_ contribution: ItemContribution) {
                var isNew = false
                let slot = worker.itemSlots.slot(for: contribution.item, isNew: &isNew)
                if isNew {
                    VectorKernels.axpy(contribution.coefficient, users.row(contribution.user),
                                       worker.itemGradients.row(slot), length: stride, start: .zero)
                    biasGradients[Int(slot)] = 0 + contribution.coefficient
                } else {
                    VectorKernels.axpy(contribution.coefficient, users.row(contribution.user),
                                       worker.itemGradients.row(slot), length: stride)
                    biasGradients[Int(slot)] += contribution.coefficient
                }
            }
            if sources.count == 1 {
                for contribution in sources[0] { add(contribution) }
            } else if sources.count == 2 {
                // Two-way merge by example number (each source is already in example order).
                let first = sources[0]
                let second = sources[1]
                var a = 0
                var b = 0
                while a < first.count && b < second.count {
                    if first[a].example <= second[b].example {
                        add(first[a])
                        a &+= 1
                    } else {
                        add(second[b])
                        b &+= 1
                    }
                }
                while a < first.count {
                    add(first[a])
                    a &+= 1
                }
                while b < second.count {
                    add(second[b])
                    b &+= 1
                }
            } else {
                // k-way merge by example number.
                var positions = [Int](repeating: 0, count: sources.count)
                while true {
                    var best = -1
                    var bestExample = Int32.max
                    for source in 0..<sources.count where positions[source] < sources[source].count {
                        let example = sources[source][positions[source]].example
                        if example < bestExample {
                            bestExample = example
                            best = source
                        }
                    }
                    guard best >= 0 else { break }
                    add(sources[best][positions[best]])
                    positions[best] += 1
                }
            }
        }
        if let (contributions, rows) = extra {
            for contribution in contributions where owner(of: contribution.item) == me {
                var isNew = false
                let slot = worker.itemSlots.slot(for: contribution.item, isNew: &isNew)
                if isNew {
                    VectorKernels.axpy(1, rows.row(Int(contribution.index)), worker.itemGradients.row(slot), length: stride, start: .zero)
                    worker.biasGradients[Int(slot)] = 0
                } else {
                    VectorKernels.axpy(1, rows.row(Int(contribution.index)), worker.itemGradients.row(slot), length: stride)
                }
            }
        }
    }
}
