/// V-REx (Krueger et al. 2021) on the recommender's loss across exposure environments, for
/// `cnsdiff` (version 2): the batch's objective becomes mean(ℓ) + w·Var_e(L_e), L_e being the mean
/// BPR loss of the examples whose positive is in environment e. Its gradient is the plain one with
/// each example weighted by B·∂/∂ℓ_i = 1 + w·2B·(L_e − mean_e L_e)/(|E|·n_e), which is what this
/// sets before the step: a loss that is higher in one exposure environment than in the others
/// (the model fits popular items at the expense of rare ones, or the reverse) weighs more.
/// The losses are those of the batch's current weights; the weights are clipped to [0, 4] so a
/// strong penalty cannot turn an example's loss around.
struct LossInvariance {
    let weight: Double
    let environmentCount: Int

    static let maximumWeight: Float = 4

    /// Multiplies the weight of every example with a negative; returns the penalty Var_e(L_e).
    @discardableResult
    func reweigh(_ examples: UnsafeMutableBufferPointer<TrainingTriplet>, model: MatrixFactorization,
                 environment: (Int32) -> Int) -> Double
    {
        let count = max(1, environmentCount)
        var sums = [Double](repeating: 0, count: count)
        var rows = [Double](repeating: 0, count: count)
        var environments = [Int](repeating: 0, count: examples.count)
        let stride = model.stride
        let useBias = model.configuration.useItemBias
        var total = 0.0
        for index in examples.indices where examples[index].negative >= 0 {
            let example = examples[index]
            let (xi, xj) = VectorKernels.dotPair(model.users.row(example.user), model.items.row(example.positive),
                                                 model.items.row(example.negative), length: stride)
            let margin = xi - xj + (useBias ? model.itemBias[Int(example.positive)] - model.itemBias[Int(example.negative)] : 0)
            let e = min(max(environment(example.positive), 0), count - 1)
            environments[index] = e
            sums[e] += Double(softplus(-margin))
            rows[e] += 1
            total += 1
        }
        let present = (0..<count).filter { rows[$0] > 0 }
        guard present.count > 1 else { return 0 }
        let means = sums.indices.map { rows[$0] > 0 ? sums[$0] / rows[$0] : 0 }
        let mean = present.reduce(0.0) { $0 + means[$1] } / Double(present.count)
        let penalty = present.reduce(0.0) { $0 + (means[$1] - mean) * (means[$1] - mean) } / Double(present.count)
        guard weight > 0 else { return penalty }
        let factors = (0..<count).map { e -> Float in
            guard rows[e] > 0 else { return 1 }
            let factor = 1 + weight * 2 * total * (means[e] - mean) / (Double(present.count) * rows[e])
            return Float(min(max(factor, 0), Double(Self.maximumWeight)))
        }
        for index in examples.indices where examples[index].negative >= 0 {
            examples[index].weight *= factors[environments[index]]
        }
        return penalty
    }
}
