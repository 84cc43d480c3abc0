/// A growable vector of floats in manually managed memory. Unlike `[Float]`, writing element i
/// from one thread while another thread reads or writes element j ≠ i is safe: there is no
/// copy-on-write uniqueness check that could make one thread copy the buffer under the other.
/// Parallel training updates item biases and per-row optimizer state this way.
package final class FloatVector {
    package private(set) var count = 0
    private var capacity: Int
    private var storage: UnsafeMutablePointer<Float>
    private let fill: Float

    package init(fill: Float = 0, initialCapacity: Int = 1024) {
        self.fill = fill
        capacity = max(initialCapacity, 16)
        storage = .allocate(capacity: capacity)
    }

    deinit {
        storage.deallocate()
    }

    /// Appends `fill` values until there are `newCount`.
    package func grow(to newCount: Int) {
        guard newCount > count else { return }
        if newCount > capacity {
            var newCapacity = capacity
            while newCapacity < newCount { newCapacity *= 2 }
            let newStorage = UnsafeMutablePointer<Float>.allocate(capacity: newCapacity)
            newStorage.update(from: storage, count: count)
            storage.deallocate()
            storage = newStorage
            capacity = newCapacity
        }
        (storage + count).initialize(repeating: fill, count: newCount - count)
        count = newCount
    }

    @inline(__always)
    package subscript(index: Int) -> Float {
        get { storage[index] }
        set { storage[index] = newValue }
    }

    package var pointer: UnsafeMutablePointer<Float> { storage }

    package func withUnsafeBufferPointer<Result>(_ body: (UnsafeBufferPointer<Float>) throws -> Result) rethrows -> Result {
        try body(UnsafeBufferPointer(start: storage, count: count))
    }

    package var array: [Float] { Array(UnsafeBufferPointer(start: storage, count: count)) }

    // MARK: State

    package func writeState(to writer: inout StateWriter) {
        writer.write(floats: storage, count: count)
    }

    package func readState(from reader: inout StateReader, _ what: String) throws {
        var copy = reader
        let stored = try copy.readCount(elementSize: 4, what)
        count = 0
        grow(to: stored)
        try reader.readFloats(into: storage, expectedCount: stored, what)
        try StateCheck.finite(storage, count: stored, what)
    }
}
