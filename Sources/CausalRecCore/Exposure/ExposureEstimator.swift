/// What counts as an exposure.
public enum ExposureSource: String, Sendable, Codable, CaseIterable {
    /// Impressions only.
    case impressions
    /// Clicks (interaction counts, i.e. popularity) — for data that has no impressions.
    case clicks
    /// Impressions once any has been seen; clicks until then.
    case auto
}

public struct ExposureConfiguration: Sendable, Equatable, Codable {
    /// Event-time half-life of an exposure's weight, in milliseconds.
    public var halfLifeMilliseconds: Double = 3_600_000
    /// Number of exposure-quantile environments (buckets).
    public var environmentCount: Int = 4
    /// Recompute the bucket boundaries after this many recorded exposures.
    public var requantileEvery: Int = 10_000
    /// Boundaries are quantiles of at most this many items (an evenly strided subset), which
    /// bounds the cost of a recompute on catalogues of millions.
    public var quantileSampleSize: Int = 65_536
    public var source: ExposureSource = .auto

    public init() {}
}

/// Per-item exposure e_i(t): an exponentially decayed impression count, the
/// propensity p_i = e_i / Σe, and the item's environment — its exposure-quantile bucket.
///
/// Decay is lazy: every weight is stored in the units of a common reference time t₀, where an
/// exposure at time t adds 2^((t − t₀)/h). Reading e_i(t) multiplies by 2^(−(t − t₀)/h). Ratios
/// (propensities, rankings, quantile buckets) need no time at all, and a record is O(1). When the
/// scale grows large, all weights are rebased to a later t₀ in one pass. Memory is one Double per
/// item.
package final class ExposureEstimator {
    package let configuration: ExposureConfiguration
    package private(set) var weights: [Double] = []
    package private(set) var totalWeight: Double = 0
    package private(set) var referenceTime: Int64?
    /// Ascending weight thresholds separating the environments (environmentCount − 1 of them).
    package private(set) var boundaries: [Double] = []
    package private(set) var recordedCount: Int = 0
    private var recordedSinceBoundaries: Int = 0
    private let decayPerMillisecond: Double
    /// Bumped by every change of a weight, the total or the item count: values derived from the
    /// relative exposures (the training's exposure weights) are current while it stays the same.
    package private(set) var version: UInt64 = 0

    /// Rebase once the scale factor passes e^rebaseExponent (far below Double's range).
    private static let rebaseExponent: Double = 200

    package init(configuration: ExposureConfiguration) {
        precondition(configuration.halfLifeMilliseconds > 0 && configuration.environmentCount >= 1)
        self.configuration = configuration
        decayPerMillisecond = 0.693_147_180_559_945_3 / configuration.halfLifeMilliseconds
    }

    package var itemCount: Int { weights.count }

    package func grow(to count: Int) {
        if weights.count < count {
            weights.append(contentsOf: repeatElement(0, count: count - weights.count))
            version &+= 1
        }
    }

    /// Forgets an item's exposure (its row is freed or reused).
    package func reset(item: Int32) {
        totalWeight = max(0, totalWeight - weights[Int(item)])
        weights[Int(item)] = 0
        version &+= 1
    }

    /// Adds `amount` exposures of `item` at event time `timestamp` (epoch ms); a negative amount
    /// takes exposure back.
    package func record(item: Int32, at timestamp: Int64, amount: Double = 1) {
        let reference = referenceTime ?? timestamp
        if referenceTime == nil { referenceTime = timestamp }
        var exponent = decayPerMillisecond * Double(timestamp - reference)
        if exponent > Self.rebaseExponent {
            rebase(to: timestamp)
            exponent = 0
        }
        let increment = amount * _exp(exponent)
        if increment < 0 {
            // Exposure taken back (counts an instance published and then had refused): never
            // below none, whatever the rounding; it is not a recorded exposure.
            let removed = min(weights[Int(item)], -increment)
            weights[Int(item)] -= removed
            totalWeight = max(0, totalWeight - removed)
            version &+= 1
            return
        }
        weights[Int(item)] += increment
        totalWeight += increment
        version &+= 1
        recordedCount += 1
        recordedSinceBoundaries += 1
        if recordedSinceBoundaries >= configuration.requantileEvery || boundaries.isEmpty {
            recomputeBoundaries()
        }
    }

    private func rebase(to timestamp: Int64) {
        guard let reference = referenceTime else { return }
        let factor = _exp(-decayPerMillisecond * Double(timestamp - reference))
        for index in weights.indices { weights[index] *= factor }
        totalWeight *= factor
        boundaries = boundaries.map { $0 * factor }
        referenceTime = timestamp
        version &+= 1
    }

    /// e_i(t): the decayed exposure count of `item` at `timestamp`.
    package func exposure(of item: Int32, at timestamp: Int64) -> Double {
        guard let reference = referenceTime, Int(item) < weights.count else { return 0 }
        return weights[Int(item)] * _exp(-decayPerMillisecond * Double(timestamp - reference))
    }

    /// p_i = e_i / Σ e (time-independent, since all weights share one scale).
    package func propensity(of item: Int32) -> Double {
        guard totalWeight > 0, Int(item) < weights.count else { return 0 }
        return weights[Int(item)] / totalWeight
    }

    /// e_i relative to the mean item (p_i · item rows): 1 for an average item, 0 for one never
    /// shown. The deconfounded learner's exposure weights are powers of it.
    package func relativeExposure(of item: Int32) -> Double {
        propensity(of: item) * Double(weights.count)
    }

    /// `relativeExposure(of:)` for many items from several threads at once: `body` gets a view
    /// of the weights that takes no reference to the estimator.
    package func withRelativeExposures<Result>(_ body: (RelativeExposures) -> Result) -> Result {
        weights.withUnsafeBufferPointer { body(RelativeExposures(weights: $0, totalWeight: totalWeight)) }
    }

    package struct RelativeExposures {
        let weights: UnsafeBufferPointer<Double>
        let totalWeight: Double

        /// Computed as `relativeExposure(of:)` computes it, to the bit.
        @inline(__always)
        package func of(_ item: Int32) -> Double {
            guard totalWeight > 0, Int(item) < weights.count else { return 0 }
            return weights[Int(item)] / totalWeight * Double(weights.count)
        }
    }

    /// The item's environment: 0 (least exposed) ..< environmentCount (most exposed). Items never
    /// exposed are in environment 0.
    package func environment(of item: Int32) -> Int {
        guard Int(item) < weights.count else { return 0 }
        let weight = weights[Int(item)]
        var bucket = 0
        for boundary in boundaries where weight > boundary { bucket += 1 }
        return bucket
    }

    /// Share of items in each environment (the marginal P(E)), from the last boundary computation.
    package func environmentDistribution() -> [Double] {
        var counts = [Double](repeating: 0, count: configuration.environmentCount)
        guard !weights.isEmpty else { return counts }
        for index in weights.indices { counts[environment(of: Int32(index))] += 1 }
        let total = Double(weights.count)
        return counts.map { $0 / total }
    }

    /// Recomputes quantile boundaries over exposed items (an evenly strided subset when large).
    package func recomputeBoundaries() {
        recordedSinceBoundaries = 0
        let buckets = configuration.environmentCount
        guard buckets > 1 else {
            boundaries = []
            return
        }
        let step = max(1, weights.count / max(configuration.quantileSampleSize, 1))
        var sample: [Double] = []
        sample.reserveCapacity(weights.count / step + 1)
        var index = 0
        while index < weights.count {
            if weights[index] > 0 { sample.append(weights[index]) }
            index += step
        }
        guard !sample.isEmpty else {
            boundaries = []
            return
        }
        sample.sort()
        boundaries = (1..<buckets).map { bucket in
            sample[min(sample.count - 1, sample.count * bucket / buckets)]
        }
    }

    /// The `limit` most exposed items, most exposed first (ties: lower row first).
    package func mostExposed(limit: Int, excluding excluded: ExcludedItems = .none) -> [Int32] {
        var selector = TopKSelector<Double>(capacity: limit)
        for index in weights.indices where weights[index] > 0 && !excluded.contains(Int32(index)) {
            selector.offer(score: weights[index], item: Int32(index))
        }
        return selector.sortedDescending().map(\.item)
    }

    // MARK: State

    package func writeState(to writer: inout StateWriter) {
        writer.beginSection("EXPO")
        writer.write(configuration.environmentCount)
        writer.write(weights)
        writer.write(totalWeight)
        writer.write(referenceTime != nil)
        writer.write(referenceTime ?? 0)
        writer.write(boundaries)
        writer.write(recordedCount)
        writer.write(recordedSinceBoundaries)
        writer.endSection()
    }

    package func readState(from reader: inout StateReader) throws {
        try reader.beginSection("EXPO")
        version &+= 1
        try reader.expect(try reader.readInt(), equals: configuration.environmentCount, "exposure.environments")
        let weights = try reader.readDoubleArray()
        try StateCheck.finite(weights, nonNegative: true, "exposure weights")
        let totalWeight = try reader.readFiniteDouble("the total exposure weight")
        let hasReference = try reader.readBool()
        let reference = try reader.readTime("the exposure reference time")
        let boundaries = try reader.readDoubleArray()
        try StateCheck.finite(boundaries, nonNegative: true, "exposure environment boundaries")
        try StateCheck.require(boundaries.isEmpty || boundaries.count == configuration.environmentCount - 1,
                               "exposure environment boundaries: \(boundaries.count) for \(configuration.environmentCount) environments")
        try StateCheck.require(zip(boundaries, boundaries.dropFirst()).allSatisfy { $0 <= $1 }, "exposure environment boundaries are not ascending")
        let recordedCount = try reader.readCounter("recorded exposures")
        let recordedSinceBoundaries = try reader.readCounter("exposures since the boundaries")
        try StateCheck.require(totalWeight >= 0 && recordedSinceBoundaries <= recordedCount,
                               "the exposure totals (weight \(totalWeight), \(recordedSinceBoundaries) of \(recordedCount) recorded) are inconsistent")
        try reader.endSection()
        self.weights = weights
        self.totalWeight = totalWeight
        referenceTime = hasReference ? reference : nil
        self.boundaries = boundaries
        self.recordedCount = recordedCount
        self.recordedSinceBoundaries = recordedSinceBoundaries
    }
}
