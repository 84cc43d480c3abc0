/// A growable list in manually managed memory: appends are a store and an increment, with no
/// copy-on-write checks (these lists are filled and drained millions of times per second).
final class ContributionBuffer<Element> {
    private var storage: UnsafeMutablePointer<Element>
    private var capacity = 0
    private(set) var count = 0

    init() {
        storage = .allocate(capacity: 1)
    }

    deinit {
        storage.deallocate()
    }

    /// Empties the list and makes room for `capacity` elements.
    func reset(capacity needed: Int) {
        count = 0
        if needed > capacity {
            storage.deallocate()
            capacity = max(needed, capacity * 2)
            storage = .allocate(capacity: capacity)
        }
    }

    @inline(__always)
    func append(_ element: Element) {
        (storage + count).initialize(to: element)
        count &+= 1
    }

    var elements: UnsafeBufferPointer<Element> { UnsafeBufferPointer(start: storage, count: count) }
}
