/// `cnsdiff-v1`: the first reading of CNSDiff (arXiv 2508.07243), kept for the record: it loses to
/// uniform negatives (results/README.md); `cnsdiff` is version 2.
///
/// Per positive (u, i): noise q_i to several levels, denoise each back with the snapshot of the
/// denoiser conditioned on the user and on an exposure environment — drawn from P(E) when
/// intervening (backdoor adjustment), else i's own — and pick one candidate by the hardness rule.
/// The negative the model trains on is z = λ·g + (1 − λ)·q_j with a uniform real negative j and
/// λ ~ Beta(α, β), whose mean rises over the curriculum. All of it runs as batched matrix
/// products over the chunk's positives.
package struct CNSDiffV1Sampler: NegativeSampler {
    package let model: DiffusionModel
    package let name: String
    package let maxAttempts: Int

    package init(model: DiffusionModel, name: String = "cnsdiff-v1", maxAttempts: Int = 64) {
        self.model = model
        self.name = name
        self.maxAttempts = maxAttempts
    }

    package var generatorVersion: Int { model.version }
    package var generatesVectors: Bool { true }

    package mutating func learn(from positives: UnsafeBufferPointer<PositiveExample>, context: SamplingContext,
                               random: inout Xoshiro256)
    {
        model.observe(positives, model: context.model, exposure: context.exposure, random: &random)
    }

    /// Without a synthetic buffer (a caller that only wants real items) this is uniform sampling.
    package mutating func sampleNegatives(for positives: UnsafeBufferPointer<PositiveExample>,
                                         into negatives: UnsafeMutableBufferPointer<Int32>,
                                         synthetic: SyntheticNegatives?,
                                         context: SamplingContext, random: inout Xoshiro256)
    {
        guard let synthetic else {
            for index in 0..<positives.count {
                negatives[index] = context.uniformNegative(user: positives[index].user, positive: positives[index].item,
                                                           attempts: maxAttempts, random: &random)
            }
            return
        }
        let snapshot = model.snapshot
        let count = positives.count
        guard count > 0 else { return }
        let candidates: DenseMatrix
        if snapshot.configuration.fixedVector {
            candidates = Self.fixedVectors(snapshot: snapshot, rows: snapshot.configuration.levels.count * count,
                                           dimension: context.model.dimension)
        } else {
            let generator = NegativeGenerator(snapshot: snapshot, layout: model.layout, rows: count)
            candidates = generator.generate(positives, model: context.model, exposure: context.exposure, random: &random)
        }
        let stride = context.model.stride
        let dimension = context.model.dimension
        let levels = snapshot.configuration.levels.count
        let shape = snapshot.mixingShape
        for index in 0..<count {
            let positive = positives[index]
            negatives[index] = context.uniformNegative(user: positive.user, positive: positive.item,
                                                       attempts: maxAttempts, random: &random)
            let user = context.model.users.row(positive.user)
            let positiveScore = VectorKernels.dot(user, context.model.items.row(positive.item), length: stride)
            var chosen = 0
            var chosenScore = -Float.infinity
            var lowest = 0
            var lowestScore = Float.infinity
            for level in 0..<levels {
                let vector = candidates.row(level * count + index)
                var score: Float = 0
                for column in 0..<dimension { score += user[column] * vector[column] }
                if score < lowestScore {
                    lowestScore = score
                    lowest = level
                }
                switch snapshot.configuration.hardness {
                case .argmax:
                    if score > chosenScore {
                        chosenScore = score
                        chosen = level
                    }
                case .hardestBelowPositive:
                    if score < positiveScore && score > chosenScore {
                        chosenScore = score
                        chosen = level
                    }
                }
            }
            if snapshot.configuration.hardness == .hardestBelowPositive && chosenScore == -Float.infinity { chosen = lowest }
            let target = synthetic.vectors + index * synthetic.stride
            target.update(from: candidates.row(chosen * count + index), count: dimension)
            (target + dimension).update(repeating: 0, count: synthetic.stride - dimension)
            synthetic.mix[index] = negatives[index] >= 0 ? Float(random.nextBeta(alpha: shape.alpha, beta: shape.beta)) : 0
        }
    }

    /// The side check's candidates: every row the same Gaussian vector, drawn from the
    /// configuration's seed and scaled to the item embeddings' RMS.
    static func fixedVectors(snapshot: DenoiserSnapshot, rows: Int, dimension: Int) -> DenseMatrix {
        var random = Xoshiro256(seed: snapshot.configuration.seed)
        var vector = [Float](repeating: 0, count: dimension)
        vector.withUnsafeMutableBufferPointer { random.fillGaussian($0.baseAddress!, count: dimension) }
        let result = DenseMatrix(rows: rows, columns: dimension)
        for row in 0..<rows {
            let target = result.row(row)
            for column in 0..<dimension { target[column] = vector[column] * snapshot.itemScale }
        }
        return result
    }

    // MARK: State

    package mutating func forget(users: Set<Int32>, items: Set<Int32>) {
        model.forget(users: users, items: items)
    }

    package func writeState(to writer: inout StateWriter) {
        model.writeState(to: &writer)
    }

    package mutating func readState(from reader: inout StateReader) throws {
        try model.readState(from: &reader)
    }

    package func validateRestored(_ context: RestoredStateContext) throws {
        try model.validateRestored(context)
    }
}
