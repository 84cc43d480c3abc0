/// The released CNSDiff code's contrastive term on positive item embeddings (InfoNCE with
/// cosine similarity): each positive q_i is pulled towards a slightly noised copy of itself and
/// pushed from every generated negative and every random real negative of the batch.
///
///   L = w·[ −mean_i sim(a_i, p_i)/τ + mean_i logsumexp_k sim(a_i, n_k)/τ ],
///   a_i = q_i/‖q_i‖, p_i = (q_i + σε_i)/‖…‖, n = [generated g_k; real q_j(k)] normalised.
///
/// Gradients reach q_i (through a_i and p_i) and the real negatives q_j; generated vectors are
/// constants. Computed with two matrix products over the batch.
package struct ContrastiveTerm: Sendable {
    package var weight: Float
    package var temperature: Float
    package var positiveNoise: Float
    package var seed: UInt64

    package init(weight: Float, temperature: Float, positiveNoise: Float = 0.01, seed: UInt64) {
        self.weight = weight
        self.temperature = temperature
        self.positiveNoise = positiveNoise
        self.seed = seed
    }

    /// An item gradient produced by the term: `gradients` row `index` belongs to `item`, and
    /// came from example `example`.
    struct Contribution {
        var example: Int32
        var item: Int32
        var index: Int32
    }

    /// Returns the gradient rows (stride `stride`) and which item/example each belongs to, in
    /// example order (positives first, then real negatives), plus the loss.
    func gradients(triplets: UnsafeBufferPointer<TrainingTriplet>, synthetic: UnsafePointer<Float>,
                   model: MatrixFactorization) -> (contributions: [Contribution], rows: DenseMatrix, loss: Float)
    {
        let examples = (0..<triplets.count).filter { triplets[$0].mix > 0 && triplets[$0].negative >= 0 }
        let b = examples.count
        let d = model.dimension
        let stride = model.stride
        guard b > 0 else { return ([], DenseMatrix(rows: 0, columns: stride), 0) }
        let anchors = DenseMatrix(rows: b, columns: d)
        let noisy = DenseMatrix(rows: b, columns: d)
        let negatives = DenseMatrix(rows: 2 * b, columns: d)
        var anchorNorms = [Float](repeating: 0, count: b)
        var noisyNorms = [Float](repeating: 0, count: b)
        var negativeNorms = [Float](repeating: 0, count: 2 * b)
        var random = Xoshiro256(seed: seed)
        func normalise(_ row: UnsafeMutablePointer<Float>) -> Float {
            var sum: Float = 0
            for c in 0..<d { sum += row[c] * row[c] }
            let norm = max(sum.squareRoot(), 1e-12)
            for c in 0..<d { row[c] /= norm }
            return norm
        }
        for (position, example) in examples.enumerated() {
            let triplet = triplets[example]
            let q = model.items.row(triplet.positive)
            let noise = UnsafeMutablePointer<Float>.allocate(capacity: d)
            defer { noise.deallocate() }
            random.fillGaussian(noise, count: d)
            for c in 0..<d {
                anchors[position, c] = q[c]
                noisy[position, c] = q[c] + positiveNoise * noise[c]
            }
            anchorNorms[position] = normalise(anchors.row(position))
            noisyNorms[position] = normalise(noisy.row(position))
            let generated = synthetic + example * stride
            let real = model.items.row(triplet.negative)
            for c in 0..<d {
                negatives[position, c] = generated[c]
                negatives[b + position, c] = real[c]
            }
            negativeNorms[position] = normalise(negatives.row(position))
            negativeNorms[b + position] = normalise(negatives.row(b + position))
        }
        // Similarities anchors × negativesᵀ, then row-wise softmax.
        let logits = DenseMatrix(rows: b, columns: 2 * b)
        Gemm.multiplyTransposedB(anchors, negatives, into: logits, rows: b)
        let inverseT = 1 / temperature
        var loss: Double = 0
        for i in 0..<b {
            let row = logits.row(i)
            var maximum = -Float.infinity
            for k in 0..<(2 * b) {
                row[k] *= inverseT
                maximum = max(maximum, row[k])
            }
            var sum: Float = 0
            for k in 0..<(2 * b) {
                row[k] = _expf(row[k] - maximum)
                sum += row[k]
            }
            for k in 0..<(2 * b) { row[k] /= sum }
            var positive: Float = 0
            for c in 0..<d { positive += anchors[i, c] * noisy[i, c] }
            loss += Double(-positive * inverseT + maximum + _logf(sum))
        }
        let scale = weight / Float(b)
        // dL/da_i = scale·(Σ_k softmax_ik n_k − p_i)/τ ;  dL/dp_i = −scale·a_i/τ ;
        // dL/dn_k = scale·Σ_i softmax_ik a_i/τ (only the real half matters).
        let anchorGradient = DenseMatrix(rows: b, columns: d)
        Gemm.multiply(logits, negatives, into: anchorGradient, rows: b)
        let negativeGradient = DenseMatrix(rows: 2 * b, columns: d)
        Gemm.multiplyTransposedA(logits, anchors, into: negativeGradient, rows: b)
        let rows = DenseMatrix(rows: 2 * b, columns: stride)
        var contributions: [Contribution] = []
        contributions.reserveCapacity(2 * b)
        // Back through the normalisations: for u = v/‖v‖, dv = (du − (du·u)u)/‖v‖.
        func backNormalise(_ du: UnsafePointer<Float>, _ u: UnsafePointer<Float>, norm: Float, into out: UnsafeMutablePointer<Float>, add: Bool) {
            var dot: Float = 0
            for c in 0..<d { dot += du[c] * u[c] }
            for c in 0..<d {
                let value = (du[c] - dot * u[c]) / norm
                out[c] = add ? out[c] + value : value
            }
        }
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: d)
        defer { scratch.deallocate() }
        for (position, example) in examples.enumerated() {
            let out = rows.row(position)
            for c in 0..<d { scratch[c] = scale * inverseT * (anchorGradient[position, c] - noisy[position, c]) }
            backNormalise(scratch, anchors.row(position), norm: anchorNorms[position], into: out, add: false)
            for c in 0..<d { scratch[c] = -scale * inverseT * anchors[position, c] }
            backNormalise(scratch, noisy.row(position), norm: noisyNorms[position], into: out, add: true)
            contributions.append(Contribution(example: Int32(example), item: triplets[example].positive, index: Int32(position)))
        }
        for (position, example) in examples.enumerated() {
            let k = b + position
            for c in 0..<d { scratch[c] = scale * inverseT * negativeGradient[k, c] }
            backNormalise(scratch, negatives.row(k), norm: negativeNorms[k], into: rows.row(k), add: false)
            contributions.append(Contribution(example: Int32(example), item: triplets[example].negative, index: Int32(k)))
        }
        return (contributions, rows, Float(loss / Double(b)) * weight)
    }
}
