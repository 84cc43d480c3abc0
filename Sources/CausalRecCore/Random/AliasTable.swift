/// Walker/Vose alias table: O(1) draws from a fixed discrete distribution after O(n) set-up.
public struct AliasTable: Sendable {
    private var probability: [Double]
    private var alias: [Int32]

    public init(weights: [Double]) {
        let n = weights.count
        precondition(n > 0, "an alias table needs at least one weight")
        let total = weights.reduce(0, +)
        precondition(total > 0, "weights must not all be zero")
        var scaled = weights.map { $0 * Double(n) / total }
        probability = [Double](repeating: 1, count: n)
        alias = [Int32](repeating: 0, count: n)
        var small: [Int] = []
        var large: [Int] = []
        for index in 0..<n {
            if scaled[index] < 1 { small.append(index) } else { large.append(index) }
        }
        while let less = small.popLast(), let more = large.popLast() {
            probability[less] = scaled[less]
            alias[less] = Int32(more)
            scaled[more] = scaled[more] + scaled[less] - 1
            if scaled[more] < 1 { small.append(more) } else { large.append(more) }
        }
        // Leftovers are 1 up to rounding.
        for index in small + large { probability[index] = 1 }
    }

    public var count: Int { probability.count }

    public func sample(_ random: inout Xoshiro256) -> Int {
        let column = random.nextIndex(below: probability.count)
        return random.nextUnitDouble() < probability[column] ? column : Int(alias[column])
    }

    // MARK: State

    public func writeState(to writer: inout StateWriter) {
        writer.write(probability)
        writer.write(alias)
    }

    public init(readingFrom reader: inout StateReader) throws {
        probability = try reader.readDoubleArray()
        alias = try reader.readInt32Array()
        guard probability.count == alias.count, !probability.isEmpty,
              alias.allSatisfy({ $0 >= 0 && Int($0) < probability.count }),
              probability.allSatisfy({ $0 >= 0 && $0 <= 1 })
        else { throw StateReadError("an alias table with inconsistent columns") }
    }
}
