/// A growable table of float rows, stored contiguously with each row padded to a multiple of 8
/// floats and the storage 64-byte aligned, so SIMD kernels need no tail loops or unaligned loads.
package final class EmbeddingTable {
    package let dimension: Int
    /// Floats between the starts of consecutive rows (dimension rounded up to 8); the padding is
    /// always zero.
    package let stride: Int
    package private(set) var rowCount: Int = 0
    private var capacity: Int
    package private(set) var storage: UnsafeMutablePointer<Float>

    package init(dimension: Int, initialCapacity: Int = 1024) {
        precondition(dimension > 0)
        self.dimension = dimension
        self.stride = (dimension + 7) & ~7
        self.capacity = max(initialCapacity, 16)
        self.storage = EmbeddingTable.allocate(floats: capacity * stride)
    }

    deinit {
        storage.deallocate()
    }

    private static func allocate(floats: Int) -> UnsafeMutablePointer<Float> {
        let raw = UnsafeMutableRawPointer.allocate(byteCount: floats * MemoryLayout<Float>.stride, alignment: 64)
        let pointer = raw.bindMemory(to: Float.self, capacity: floats)
        pointer.initialize(repeating: 0, count: floats)
        return pointer
    }

    @inline(__always)
    package func row(_ index: Int32) -> UnsafeMutablePointer<Float> {
        storage + Int(index) &* stride
    }

    /// Adds zeroed rows until the table has `count` rows.
    package func grow(to count: Int) {
        guard count > rowCount else { return }
        if count > capacity {
            var newCapacity = capacity
            while newCapacity < count { newCapacity *= 2 }
            let newStorage = EmbeddingTable.allocate(floats: newCapacity * stride)
            newStorage.update(from: storage, count: rowCount * stride)
            storage.deallocate()
            storage = newStorage
            capacity = newCapacity
        }
        rowCount = count
    }

    /// Copies one row out (dimension floats, without padding).
    package func values(of index: Int32) -> [Float] {
        Array(UnsafeBufferPointer(start: row(index), count: dimension))
    }

    /// Fills a row with N(0, std²) values drawn from a generator seeded by (seed, row), so a row's
    /// initial value does not depend on what else the stream did before it appeared.
    /// Fills row `index` with N(0, std²) values drawn from a stream named by `seed` and `key`
    /// (the row index, or a stable key of the id when every instance must start a row alike).
    package func initializeRow(_ index: Int32, key: UInt64, standardDeviation: Float, seed: UInt64) {
        var generator = Xoshiro256(seed: SplitMix64.mix(seed, key))
        let pointer = row(index)
        for column in 0..<dimension {
            pointer[column] = Float(generator.nextGaussian()) * standardDeviation
        }
    }

    // MARK: State

    package func writeState(to writer: inout StateWriter) {
        writer.write(dimension)
        writer.write(rowCount)
        writer.write(floats: storage, count: rowCount * stride)
    }

    /// Replaces the rows with the stored ones (same dimension).
    package func readState(from reader: inout StateReader, _ what: String) throws {
        try reader.expect(try reader.readInt(), equals: dimension, "\(what): the dimension")
        let rows = try reader.readCount(elementSize: stride * 4, what)
        if rows < rowCount { storage.update(repeating: 0, count: rowCount * stride) }
        rowCount = 0
        grow(to: rows)
        try reader.readFloats(into: storage, expectedCount: rows * stride, what)
        // Kernels read whole padded rows: padding must be zero, and no value may be NaN or ±∞.
        for index in 0..<rows {
            let pointer = row(Int32(index))
            for column in 0..<stride {
                let value = pointer[column]
                guard value.isFinite, column < dimension || value == 0 else {
                    throw StateReadError("\(what): row \(index) holds \(value) at column \(column)")
                }
            }
        }
    }
}
