/// Per-item values derived from the exposure estimate, computed at most once per item while the
/// estimate stays unchanged: an item's exposure weight r^γ depends only on the item and the
/// estimate, so the examples of a batch (and of every batch until the next impression, e.g.
/// the epochs of a backtest) share one power per distinct item instead of two per example.
/// A stamp per item says whether its value belongs to the current estimate; nothing is cleared.
struct ItemWeightCache {
    private var values: [Float] = []
    private var stamps: [UInt32] = []
    private var stamp: UInt32 = 0
    private var estimateVersion: UInt64?

    /// Starts a batch over the estimate of `version` (`ExposureEstimator.version`): values
    /// computed for another version are stale from now on.
    mutating func beginBatch(itemCount: Int, version: UInt64) {
        if stamps.count < itemCount {
            stamps.append(contentsOf: repeatElement(0, count: itemCount - stamps.count))
            values.append(contentsOf: repeatElement(0, count: itemCount - values.count))
        }
        guard version != estimateVersion else { return }
        estimateVersion = version
        stamp &+= 1
        if stamp == 0 {
            // Wrapped: a stamp left from 2³² batches ago must not pass for current.
            stamps.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
            stamp = 1
        }
    }

    /// A read-only view for the parallel chunks of a batch: they look values up, compute the ones
    /// missing themselves, and the batch stores those afterwards (`store`), on one thread.
    struct View {
        let values: UnsafePointer<Float>
        let stamps: UnsafePointer<UInt32>
        let stamp: UInt32

        @inline(__always)
        func value(of item: Int32) -> Float? {
            stamps[Int(item)] == stamp ? values[Int(item)] : nil
        }
    }

    func withCurrentValues<Result>(_ body: (View) -> Result) -> Result {
        values.withUnsafeBufferPointer { values in
            stamps.withUnsafeBufferPointer { stamps in
                // Empty arrays may have no storage; a view over nothing is never read.
                body(View(values: values.baseAddress ?? UnsafePointer(bitPattern: 0x10)!,
                          stamps: stamps.baseAddress ?? UnsafePointer(bitPattern: 0x10)!, stamp: stamp))
            }
        }
    }

    mutating func store(_ value: Float, for item: Int32) {
        values[Int(item)] = value
        stamps[Int(item)] = stamp
    }
}
