/// `popularity`: negatives drawn ∝ exposure^α (α = 1: as often as items are shown; α = 0.75 is
/// word2vec's smoothing; α = 0 is uniform over exposed items). Exposure is the estimator's
/// decayed impression count, or click counts for data without impressions.
///
/// The alias table is rebuilt only every `refreshEvery` new exposures (O(items) each time), so a
/// draw is O(1) while the distribution follows the stream with bounded staleness. Refresh points
/// are counted in events, which keeps runs deterministic.
package struct PopularityNegativeSampler: ItemNegativeSampler {
    package let exponent: Double
    package let refreshEvery: Int
    package let maxAttempts: Int
    private var table: AliasTable?
    private var builtAtExposure = -1
    private var builtForItems = 0

    package init(exponent: Double, refreshEvery: Int = 10_000, maxAttempts: Int = 64) {
        self.exponent = exponent
        self.refreshEvery = refreshEvery
        self.maxAttempts = maxAttempts
    }

    package var name: String { SamplerKind.popularity.rawValue }

    package mutating func prepare(context: SamplingContext) {
        refreshIfStale(context.exposure)
    }

    private mutating func refreshIfStale(_ exposure: ExposureEstimator) {
        let recorded = exposure.recordedCount
        let stale = table == nil || recorded - builtAtExposure >= refreshEvery
            || exposure.itemCount > builtForItems + builtForItems / 10
        guard stale, recorded > 0 else { return }
        let weights = exposure.weights.map { $0 > 0 ? _pow($0, exponent) : 0 }
        table = weights.contains { $0 > 0 } ? AliasTable(weights: weights) : nil
        builtAtExposure = recorded
        builtForItems = exposure.itemCount
    }

    package mutating func negative(for positive: PositiveExample, context: SamplingContext, random: inout Xoshiro256) -> Int32 {
        if let table {
            for _ in 0..<maxAttempts {
                let candidate = Int32(table.sample(&random))
                if candidate != positive.item && !context.history.hasClicked(user: positive.user, item: candidate) {
                    return candidate
                }
            }
        }
        return context.uniformNegative(user: positive.user, positive: positive.item, attempts: maxAttempts, random: &random)
    }

    // MARK: State

    package func writeState(to writer: inout StateWriter) {
        writer.write(table != nil)
        table?.writeState(to: &writer)
        writer.write(builtAtExposure)
        writer.write(builtForItems)
    }

    package mutating func readState(from reader: inout StateReader) throws {
        table = try reader.readBool() ? try AliasTable(readingFrom: &reader) : nil
        builtAtExposure = try reader.readInt()
        builtForItems = try reader.readCounter("items of the popularity table")
    }

    package func validateRestored(_ context: RestoredStateContext) throws {
        guard builtAtExposure >= -1, builtAtExposure <= context.exposuresRecorded, builtForItems <= context.itemCount,
              table == nil || table!.count == builtForItems
        else {
            throw StateReadError("the popularity table (\(table?.count ?? 0) items, built for \(builtForItems) at exposure \(builtAtExposure)) does not fit the state (\(context.itemCount) items, \(context.exposuresRecorded) exposures)")
        }
    }
}
