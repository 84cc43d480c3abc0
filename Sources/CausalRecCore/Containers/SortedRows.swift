/// Sets of rows kept as sorted `[Int32]` arrays: membership is a binary search over a few dozen
/// entries with no hashing (samplers ask millions of times per second), and an entry costs 4
/// bytes instead of a hash-set slot.
package enum SortedRows {
    @inline(__always)
    package static func lowerBound(_ value: Int32, in sorted: UnsafeBufferPointer<Int32>) -> Int {
        var low = 0
        var high = sorted.count
        while low < high {
            let middle = (low &+ high) &>> 1
            if sorted[middle] < value { low = middle &+ 1 } else { high = middle }
        }
        return low
    }

    @inline(__always)
    package static func contains(_ value: Int32, in sorted: UnsafeBufferPointer<Int32>) -> Bool {
        let index = lowerBound(value, in: sorted)
        return index < sorted.count && sorted[index] == value
    }

    @discardableResult
    package static func insert(_ value: Int32, into sorted: inout [Int32]) -> Bool {
        let index = sorted.withUnsafeBufferPointer { lowerBound(value, in: $0) }
        if index < sorted.count && sorted[index] == value { return false }
        sorted.insert(value, at: index)
        return true
    }

    package static func remove(_ value: Int32, from sorted: inout [Int32]) {
        let index = sorted.withUnsafeBufferPointer { lowerBound(value, in: $0) }
        if index < sorted.count && sorted[index] == value { sorted.remove(at: index) }
    }
}
