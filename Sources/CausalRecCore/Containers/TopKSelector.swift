/// Keeps the `capacity` highest-scoring items seen so far in a binary min-heap, so scanning n
/// candidates costs O(n log k) at worst and O(n) once the heap threshold is high. Ties go to
/// the lower item row, which keeps results deterministic.
public struct TopKSelector<Score: Comparable & Sendable>: Sendable {
    public struct Entry: Sendable, Equatable {
        public var score: Score
        public var item: Int32
    }

    public let capacity: Int
    private var heap: [Entry] = []

    public init(capacity: Int) {
        self.capacity = max(0, capacity)
        heap.reserveCapacity(self.capacity)
    }

    public var count: Int { heap.count }
    public var isFull: Bool { heap.count >= capacity }

    /// The score an item must beat to enter once full.
    public var threshold: Score? { isFull ? heap.first?.score : nil }

    /// Whether `a` ranks below `b` (lower score, or equal score and higher row).
    @inline(__always)
    private static func ranksBelow(_ a: Entry, _ b: Entry) -> Bool {
        a.score < b.score || (a.score == b.score && a.item > b.item)
    }

    @inline(__always)
    public mutating func offer(score: Score, item: Int32) {
        guard capacity > 0 else { return }
        let entry = Entry(score: score, item: item)
        if heap.count < capacity {
            heap.append(entry)
            siftUp(heap.count - 1)
        } else if Self.ranksBelow(heap[0], entry) {
            heap[0] = entry
            siftDown(0)
        }
    }

    /// Whether an item with `score` could enter (cheap pre-check before costlier filters).
    @inline(__always)
    public func wouldAccept(score: Score, item: Int32) -> Bool {
        guard capacity > 0 else { return false }
        return heap.count < capacity || Self.ranksBelow(heap[0], Entry(score: score, item: item))
    }

    public func sortedDescending() -> [Entry] {
        heap.sorted { Self.ranksBelow($1, $0) }
    }

    private mutating func siftUp(_ start: Int) {
        var child = start
        while child > 0 {
            let parent = (child - 1) / 2
            guard Self.ranksBelow(heap[child], heap[parent]) else { return }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    private mutating func siftDown(_ start: Int) {
        var parent = start
        while true {
            let left = 2 * parent + 1
            guard left < heap.count else { return }
            var smallest = left
            let right = left + 1
            if right < heap.count && Self.ranksBelow(heap[right], heap[left]) { smallest = right }
            guard Self.ranksBelow(heap[smallest], heap[parent]) else { return }
            heap.swapAt(smallest, parent)
            parent = smallest
        }
    }
}
