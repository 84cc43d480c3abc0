/// Checks of restored values against what the rest of the state says, so a checkpoint that is
/// well-formed byte by byte (a valid CRC proves nothing about its author) but names rows that do
/// not exist, or holds values no run could produce, is refused with a sentence instead of being
/// trusted into an out-of-bounds write later.
public enum StateCheck {
    /// Every entry is a row in `0..<count`.
    public static func rows(_ values: [Int32], below count: Int, _ what: @autoclosure () -> String) throws {
        for value in values where value < 0 || Int(value) >= count {
            throw StateReadError("\(what()): row \(value) does not exist (\(count) rows)")
        }
    }

    /// Strictly ascending (sorted, no repeats): what the writer produces for sets.
    public static func strictlyAscending<Value: Comparable>(_ values: [Value], _ what: @autoclosure () -> String) throws {
        for index in values.indices.dropFirst() where !(values[index - 1] < values[index]) {
            throw StateReadError("\(what()): entries are not sorted and unique")
        }
    }

    /// No entry is in `excluded` (sorted).
    public static func disjoint(_ values: [Int32], from excluded: [Int32], _ what: @autoclosure () -> String) throws {
        guard !excluded.isEmpty else { return }
        for value in values where excluded.withUnsafeBufferPointer({ SortedRows.contains(value, in: $0) }) {
            throw StateReadError("\(what()): row \(value) is a free row")
        }
    }

    public static func finite(_ pointer: UnsafePointer<Float>, count: Int, _ what: @autoclosure () -> String) throws {
        for index in 0..<count where !pointer[index].isFinite {
            throw StateReadError("\(what()): value \(index) is not a finite number")
        }
    }

    public static func finite(_ values: [Double], nonNegative: Bool = false, _ what: @autoclosure () -> String) throws {
        for (index, value) in values.enumerated() where !value.isFinite || (nonNegative && value < 0) {
            throw StateReadError("\(what()): value \(index) is \(value)")
        }
    }

    public static func require(_ condition: Bool, _ what: @autoclosure () -> String) throws {
        guard condition else { throw StateReadError(what()) }
    }
}
