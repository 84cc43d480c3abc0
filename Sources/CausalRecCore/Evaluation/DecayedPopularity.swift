/// A peer for replays: items ranked by click counts that fade with a half-life (in clicks), the
/// counter a team would run against temporal shift. Several half-lives are kept side by side so
/// a replay can choose one on the stream's first part and report it over the whole stream.
///
/// A click's weight is 2^(c/h) at click number c instead of decaying every count at every click;
/// the counts are rescaled before the weights leave Double's range. The order of items equals
/// the order of their decayed counts.
package struct DecayedPopularity: Sendable {
    package let halfLives: [Int]
    /// counts[candidate][item row]: the decayed count times the current base weight's inverse.
    private var counts: [[Double]]
    /// log2 of the weight the next click adds, per candidate.
    private var exponents: [Double]

    package init(halfLives: [Int]) {
        precondition(!halfLives.isEmpty && halfLives.allSatisfy { $0 > 0 })
        self.halfLives = halfLives
        counts = Array(repeating: [], count: halfLives.count)
        exponents = Array(repeating: 0, count: halfLives.count)
    }

    /// Counts one click on `item`.
    package mutating func record(click item: Int32) {
        let row = Int(item)
        for candidate in halfLives.indices {
            if counts[candidate].count <= row { counts[candidate].append(contentsOf: repeatElement(0, count: row + 1 - counts[candidate].count)) }
            counts[candidate][row] += Self.power2(exponents[candidate])
            exponents[candidate] += 1 / Double(halfLives[candidate])
            if exponents[candidate] > 900 {
                // Rescale before 2^x overflows: every count by the same factor keeps the order.
                let factor = Self.power2(-exponents[candidate])
                for index in counts[candidate].indices { counts[candidate][index] *= factor }
                exponents[candidate] = 0
            }
        }
    }

    /// Forgets an item row (it was freed and may be reused for another item).
    package mutating func clear(item: Int32) {
        for candidate in halfLives.indices where Int(item) < counts[candidate].count { counts[candidate][Int(item)] = 0 }
    }

    /// The 0-based rank of `item` under each half-life among the items not excluded, nil when it
    /// is not in the top `k`. Ties: the lower row first (as the model's top-K orders them).
    package func ranks(of item: Int32, k: Int, excluding excluded: ExcludedItems) -> [Int?] {
        counts.map { scores in
            let target = Int(item) < scores.count ? scores[Int(item)] : 0
            // An item never clicked ties with every other one at zero: not ranked.
            guard target > 0 else { return nil }
            var above = 0
            for row in scores.indices where row != Int(item) {
                let value = scores[row]
                guard value > target || (value == target && row < Int(item)) else { continue }
                if excluded.contains(Int32(row)) { continue }
                above += 1
                if above >= k { return nil }
            }
            return above
        }
    }

    private static func power2(_ x: Double) -> Double { _exp2(x) }
}
