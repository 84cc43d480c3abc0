/// Item rows grouped by exposure environment (the estimator's quantile buckets), for drawing an
/// item of a chosen environment, and the environments' shares of the items: P(E) over items, the
/// marginal a backdoor adjustment needs (never the click-weighted P(E | click)).
///
/// Rebuilt after `refreshEvery` new exposures or when the catalogue grew by a tenth, like the
/// popularity table: a draw is O(1) and the grouping follows the stream with bounded staleness.
/// Refresh points are counted in events, and the lists are checkpointed, so runs stay
/// deterministic across a restore.
package struct EnvironmentItems {
    /// Item rows environment by environment; environment e holds `items[starts[e]..<starts[e + 1]]`.
    private(set) var items: [Int32] = []
    private(set) var starts: [Int] = []
    /// Each item's environment when the lists were built (the positive's environment is read
    /// from the same snapshot as the lists it is matched against).
    private(set) var environmentOf: [UInt8] = []
    private(set) var builtAtExposure = -1
    private(set) var builtForItems = 0

    package init() {}

    package var isEmpty: Bool { builtForItems == 0 }
    package var environmentCount: Int { max(starts.count - 1, 0) }

    package mutating func refreshIfStale(_ exposure: ExposureEstimator, refreshEvery: Int) {
        let recorded = exposure.recordedCount
        let stale = builtForItems == 0 || recorded - builtAtExposure >= refreshEvery
            || exposure.itemCount > builtForItems + builtForItems / 10
        guard stale, exposure.itemCount > 0 else { return }
        let environments = exposure.configuration.environmentCount
        environmentOf = (0..<exposure.itemCount).map { UInt8(exposure.environment(of: Int32($0))) }
        build(environments: environments)
        builtAtExposure = recorded
    }

    private mutating func build(environments: Int) {
        var counts = [Int](repeating: 0, count: environments)
        for environment in environmentOf { counts[Int(environment)] += 1 }
        starts = [0]
        for count in counts { starts.append(starts[starts.count - 1] + count) }
        var next = Array(starts.dropLast())
        items = [Int32](repeating: 0, count: environmentOf.count)
        for (row, environment) in environmentOf.enumerated() {
            items[next[Int(environment)]] = Int32(row)
            next[Int(environment)] += 1
        }
        builtForItems = environmentOf.count
    }

    /// The lists as unsafe buffers, for the draws of one chunk (no reference counting per draw).
    package func withView<Result>(_ body: (View) -> Result) -> Result {
        items.withUnsafeBufferPointer { items in
            starts.withUnsafeBufferPointer { starts in
                environmentOf.withUnsafeBufferPointer { environmentOf in
                    body(View(items: items, starts: starts, environmentOf: environmentOf))
                }
            }
        }
    }

    package struct View {
        let items: UnsafeBufferPointer<Int32>
        let starts: UnsafeBufferPointer<Int>
        let environmentOf: UnsafeBufferPointer<UInt8>

        package var isEmpty: Bool { items.isEmpty }

        /// The environment of `item` in the snapshot (0 for an item added since).
        @inline(__always)
        package func environment(of item: Int32) -> Int {
            Int(item) < environmentOf.count ? Int(environmentOf[Int(item)]) : 0
        }

        /// An environment drawn from P(E) over items: the environment of a uniform item of the snapshot.
        @inline(__always)
        package func drawEnvironment(_ random: inout Xoshiro256) -> Int {
            environment(of: items[random.nextIndex(below: items.count)])
        }

        /// A uniform item of `environment`, or −1 when it has none.
        @inline(__always)
        package func drawItem(in environment: Int, _ random: inout Xoshiro256) -> Int32 {
            guard environment + 1 < starts.count else { return -1 }
            let count = starts[environment + 1] - starts[environment]
            return count > 0 ? items[starts[environment] + random.nextIndex(below: count)] : -1
        }
    }

    // MARK: State

    package func writeState(to writer: inout StateWriter) {
        writer.write(environmentCount)
        writer.write(environmentOf.map { Int32($0) })
        writer.write(builtAtExposure)
    }

    package mutating func readState(from reader: inout StateReader) throws {
        let environments = try reader.readCounter("environments of the causal sampler")
        try StateCheck.require(environments <= 64, "causal sampler: \(environments) environments")
        let snapshot = try reader.readInt32Array()
        builtAtExposure = try reader.readInt()
        if let bad = snapshot.first(where: { $0 < 0 || Int($0) >= max(environments, 1) }) {
            throw StateReadError("causal sampler: an item in environment \(bad) of \(environments)")
        }
        environmentOf = snapshot.map { UInt8($0) }
        if environments > 0 {
            build(environments: environments)
        } else {
            items = []
            starts = []
            builtForItems = 0
        }
    }

    /// The lists name item rows of the restored state, one environment per list of the estimator.
    package func validateRestored(_ context: RestoredStateContext) throws {
        guard !isEmpty else { return }
        try StateCheck.require(environmentCount == context.environmentCount,
                               "causal sampler: \(environmentCount) environment lists for \(context.environmentCount) environments")
        try StateCheck.require(builtForItems <= context.itemCount && builtAtExposure <= context.exposuresRecorded,
                               "causal sampler: environment lists built for \(builtForItems) items at exposure \(builtAtExposure), state has \(context.itemCount) items and \(context.exposuresRecorded) exposures")
    }
}
