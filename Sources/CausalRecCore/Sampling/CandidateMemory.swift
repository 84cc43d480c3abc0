/// A few recent negative candidates per user, each with a moving mean and variance of
/// σ(x_j − x_i): how likely the model ranks the candidate above the user's positive. A candidate
/// that stays above with little variance is more likely an item the user would like (a false
/// negative) than a hard one; one whose statistic swings is informative (SRNS, Ding et al.,
/// NeurIPS 2020, keeps such a memory and uses the variance over recent passes).
///
/// Stored as flat arrays, `slots` entries per user row; entries are replaced first in, first out.
package struct CandidateMemory {
    package let slots: Int
    private(set) var items: [Int32] = []
    private(set) var means: [Float] = []
    private(set) var variances: [Float] = []
    private(set) var counts: [Int32] = []
    /// The next entry to replace, per user.
    private(set) var cursors: [Int32] = []

    package init(slots: Int) {
        precondition(slots >= 0)
        self.slots = slots
    }

    package var userCount: Int { cursors.count }

    package var rememberedCount: Int { items.reduce(0) { $0 + ($1 >= 0 ? 1 : 0) } }

    package mutating func grow(users: Int) {
        guard users > cursors.count, slots > 0 else { return }
        let added = users - cursors.count
        items.append(contentsOf: repeatElement(-1, count: added * slots))
        means.append(contentsOf: repeatElement(0, count: added * slots))
        variances.append(contentsOf: repeatElement(0, count: added * slots))
        counts.append(contentsOf: repeatElement(0, count: added * slots))
        cursors.append(contentsOf: repeatElement(0, count: added))
    }

    /// The entry indices of `user` (empty for a user beyond the memory).
    @inline(__always)
    package func entries(of user: Int32) -> Range<Int> {
        Int(user) < cursors.count ? Int(user) * slots ..< (Int(user) + 1) * slots : 0..<0
    }

    @inline(__always) package func item(at entry: Int) -> Int32 { items[entry] }
    @inline(__always) package func mean(at entry: Int) -> Float { means[entry] }
    @inline(__always) package func deviation(at entry: Int) -> Float { variances[entry].squareRoot() }
    @inline(__always) package func count(at entry: Int) -> Int32 { counts[entry] }

    /// The memory as unsafe buffers, for the draws of one chunk (read only; no reference counting
    /// per positive).
    package func withView<Result>(_ body: (View) -> Result) -> Result {
        items.withUnsafeBufferPointer { items in
            means.withUnsafeBufferPointer { means in
                variances.withUnsafeBufferPointer { variances in
                    counts.withUnsafeBufferPointer { counts in
                        body(View(slots: slots, users: cursors.count, items: items, means: means, variances: variances, counts: counts))
                    }
                }
            }
        }
    }

    package struct View {
        let slots: Int
        let users: Int
        let items: UnsafeBufferPointer<Int32>
        let means: UnsafeBufferPointer<Float>
        let variances: UnsafeBufferPointer<Float>
        let counts: UnsafeBufferPointer<Int32>

        @inline(__always)
        package func entries(of user: Int32) -> Range<Int> {
            Int(user) < users ? Int(user) * slots ..< (Int(user) + 1) * slots : 0..<0
        }

        @inline(__always) package func item(at entry: Int) -> Int32 { items[entry] }
        @inline(__always) package func mean(at entry: Int) -> Float { means[entry] }
        @inline(__always) package func deviation(at entry: Int) -> Float { variances[entry].squareRoot() }
        @inline(__always) package func count(at entry: Int) -> Int32 { counts[entry] }
    }

    /// Adds an observation of `item` for `user`: updates its statistics, or (when `insert`) makes
    /// it an entry in place of the oldest one.
    package mutating func observe(user: Int32, item: Int32, value: Float, rate: Float, insert: Bool = true) {
        let range = entries(of: user)
        guard !range.isEmpty else { return }
        for entry in range where items[entry] == item {
            // Exponentially weighted mean and variance (West 1979's incremental form).
            let difference = value - means[entry]
            means[entry] += rate * difference
            variances[entry] = (1 - rate) * (variances[entry] + rate * difference * difference)
            counts[entry] = counts[entry] == Int32.max ? counts[entry] : counts[entry] + 1
            return
        }
        guard insert else { return }
        let entry = range.lowerBound + Int(cursors[Int(user)])
        items[entry] = item
        means[entry] = value
        variances[entry] = 0
        counts[entry] = 1
        cursors[Int(user)] = (cursors[Int(user)] + 1) % Int32(slots)
    }

    /// Clears the entries of released users and every entry naming a released item.
    package mutating func forget(users: Set<Int32>, items released: Set<Int32>) {
        guard slots > 0 else { return }
        for user in users where Int(user) < cursors.count {
            for entry in entries(of: user) { items[entry] = -1 }
            cursors[Int(user)] = 0
        }
        guard !released.isEmpty else { return }
        for entry in items.indices where items[entry] >= 0 && released.contains(items[entry]) { items[entry] = -1 }
    }

    // MARK: State

    package func writeState(to writer: inout StateWriter) {
        writer.write(slots)
        writer.write(items)
        writer.write(means)
        writer.write(variances)
        writer.write(counts)
        writer.write(cursors)
    }

    package mutating func readState(from reader: inout StateReader) throws {
        try reader.expect(try reader.readInt(), equals: slots, "causal sampler memory slots")
        items = try reader.readInt32Array()
        means = try reader.readFloatArray()
        variances = try reader.readFloatArray()
        counts = try reader.readInt32Array()
        cursors = try reader.readInt32Array()
        let entries = cursors.count * slots
        try StateCheck.require([items.count, means.count, variances.count, counts.count].allSatisfy { $0 == entries },
                               "causal sampler memory: lists of \(items.count)/\(means.count)/\(variances.count)/\(counts.count) entries for \(cursors.count) users × \(slots)")
        try StateCheck.require(cursors.allSatisfy { $0 >= 0 && $0 < max(Int32(slots), 1) }, "causal sampler memory: a replacement cursor is out of range")
        try StateCheck.require(counts.allSatisfy { $0 >= 0 }, "causal sampler memory: a negative observation count")
        // The statistics are of probabilities: means in [0, 1], variances at most 1/4.
        try StateCheck.require(means.allSatisfy { $0 >= 0 && $0 <= 1 }, "causal sampler memory: a mean outside [0, 1]")
        try StateCheck.require(variances.allSatisfy { $0 >= 0 && $0 <= 1 }, "causal sampler memory: a variance outside [0, 1]")
    }

    /// Every remembered item names an item row of the restored state.
    package func validateRestored(itemCount: Int, userCount: Int) throws {
        try StateCheck.require(cursors.count <= userCount,
                               "causal sampler memory: \(cursors.count) users for \(userCount) user rows")
        if let bad = items.first(where: { $0 < -1 || Int($0) >= itemCount }) {
            throw StateReadError("causal sampler memory names item row \(bad) of \(itemCount)")
        }
    }
}
