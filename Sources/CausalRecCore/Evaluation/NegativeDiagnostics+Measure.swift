/// Measuring a sampler's negatives, for backtest reports.
extension NegativeDiagnostics {
    /// Draws negatives for `positives` with a copy of `sampler` on the current state (the sampler
    /// itself learns nothing) and describes them.
    package static func measure(_ sampler: any NegativeSampler, positives: [PositiveExample], context: SamplingContext,
                               seed: UInt64 = 99) -> NegativeDiagnostics
    {
        let model = context.model
        let exposure = context.exposure
        var diagnostics = NegativeDiagnostics()
        guard !positives.isEmpty, model.itemCount > 1 else { return diagnostics }
        let count = positives.count
        let stride = model.stride
        var negatives = [Int32](repeating: -1, count: count)
        var vectors = [Float](repeating: 0, count: count * stride)
        var mix = [Float](repeating: 0, count: count)
        var random = Xoshiro256(seed: seed)
        var copy = sampler
        copy.prepare(context: context)
        let generative = copy.generatesVectors
        positives.withUnsafeBufferPointer { input in
            negatives.withUnsafeMutableBufferPointer { output in
                vectors.withUnsafeMutableBufferPointer { v in
                    mix.withUnsafeMutableBufferPointer { m in
                        let synthetic = generative ? SyntheticNegatives(vectors: v.baseAddress!, stride: stride, mix: m.baseAddress!) : nil
                        copy.sampleNegatives(for: input, into: output, synthetic: synthetic, context: context, random: &random)
                    }
                }
            }
        }
        var hardness: [Double] = []
        var exposures: [Double] = []
        var cosineSum = 0.0, gapSum = 0.0, below = 0.0, nearestSum = 0.0
        var norms = [Float](repeating: 0, count: model.itemCount)
        for item in 0..<model.itemCount {
            let row = model.items.row(Int32(item))
            norms[item] = VectorKernels.dot(row, row, length: stride).squareRoot()
        }
        func cosine(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ normB: Float) -> Double {
            let normA = VectorKernels.dot(a, a, length: stride).squareRoot()
            return normA > 0 && normB > 0 ? Double(VectorKernels.dot(a, b, length: stride) / (normA * normB)) : 0
        }
        vectors.withUnsafeBufferPointer { v in
            for index in 0..<count where negatives[index] >= 0 {
                let positive = positives[index]
                let user = model.users.row(positive.user)
                let negative: UnsafePointer<Float>
                var nearest = negatives[index]
                var nearestCosine = 1.0
                if generative {
                    negative = v.baseAddress! + index * stride
                    nearestCosine = -2
                    for item in 0..<model.itemCount {
                        let value = cosine(negative, model.items.row(Int32(item)), norms[item])
                        if value > nearestCosine {
                            nearestCosine = value
                            nearest = Int32(item)
                        }
                    }
                } else {
                    negative = UnsafePointer(model.items.row(negatives[index]))
                }
                let score = VectorKernels.dot(user, negative, length: stride)
                let positiveScore = VectorKernels.dot(user, model.items.row(positive.item), length: stride)
                hardness.append(Double(score))
                exposures.append(exposure.propensity(of: nearest))
                cosineSum += cosine(negative, model.items.row(positive.item), norms[Int(positive.item)])
                gapSum += Double(score - positiveScore)
                if score < positiveScore { below += 1 }
                nearestSum += nearestCosine
            }
        }
        let n = Double(hardness.count)
        guard n > 1 else { return diagnostics }
        diagnostics.samples = hardness.count
        diagnostics.exposureHardnessCorrelation = RankCorrelation.spearman(hardness, exposures)
        diagnostics.meanCosineToPositive = cosineSum / n
        diagnostics.meanScoreGap = gapSum / n
        diagnostics.shareBelowPositive = below / n
        diagnostics.meanMix = generative ? Double(mix.prefix(count).reduce(0, +)) / Double(count) : 0
        diagnostics.meanNearestItemCosine = nearestSum / n
        return diagnostics
    }
}
