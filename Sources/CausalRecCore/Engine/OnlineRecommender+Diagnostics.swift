/// What a sampler's negatives look like right now (`NegativeDiagnostics`), for backtest reports.
extension OnlineRecommender {
    /// Draws negatives for `positives` with the current sampler and state (without learning from
    /// them) and describes them.
    public func diagnoseNegatives(_ positives: [PositiveExample], seed: UInt64 = 99) -> NegativeDiagnostics {
        var diagnostics = NegativeDiagnostics()
        guard !positives.isEmpty, model.itemCount > 1 else { return diagnostics }
        let count = positives.count
        let stride = model.stride
        let dimension = model.dimension
        let context = SamplingContext(model: model, history: history, exposure: exposure)
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
        _ = dimension
        return diagnostics
    }
}

/// Spearman's rank correlation (ties get their mean rank).
public enum RankCorrelation {
    public static func spearman(_ x: [Double], _ y: [Double]) -> Double {
        precondition(x.count == y.count)
        guard x.count > 1 else { return 0 }
        return pearson(ranks(x), ranks(y))
    }

    static func ranks(_ values: [Double]) -> [Double] {
        let order = values.indices.sorted { values[$0] < values[$1] }
        var result = [Double](repeating: 0, count: values.count)
        var start = 0
        while start < order.count {
            var end = start
            while end + 1 < order.count && values[order[end + 1]] == values[order[start]] { end += 1 }
            for position in start...end { result[order[position]] = Double(start + end) / 2 }
            start = end + 1
        }
        return result
    }

    static func pearson(_ x: [Double], _ y: [Double]) -> Double {
        let meanX = x.reduce(0, +) / Double(x.count)
        let meanY = y.reduce(0, +) / Double(y.count)
        var covariance = 0.0, varianceX = 0.0, varianceY = 0.0
        for index in x.indices {
            covariance += (x[index] - meanX) * (y[index] - meanY)
            varianceX += (x[index] - meanX) * (x[index] - meanX)
            varianceY += (y[index] - meanY) * (y[index] - meanY)
        }
        return varianceX > 0 && varianceY > 0 ? covariance / (varianceX * varianceY).squareRoot() : 0
    }
}
