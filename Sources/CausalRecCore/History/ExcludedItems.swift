/// A user's clicked items as a sorted array, for exclusion while ranking.
public struct ExcludedItems: Sendable {
    public let sorted: [Int32]

    public init(sorted: [Int32]) {
        self.sorted = sorted
    }

    public static let none = ExcludedItems(sorted: [])

    public var isEmpty: Bool { sorted.isEmpty }

    @inline(__always)
    public func contains(_ item: Int32) -> Bool {
        sorted.withUnsafeBufferPointer { SortedRows.contains(item, in: $0) }
    }
}
