/// Appends the learning state to a byte buffer in a fixed little-endian layout: the body of a
/// checkpoint. Each component writes its own part between `beginSection`/`endSection` so a
/// reader can say which part is damaged or was written by an incompatible build.
///
/// The layout is deliberately plain (no field names, no optional keys): a checkpoint is read back
/// by the same format version only, and bit-exact restore needs every float verbatim.
public struct StateWriter {
    public private(set) var bytes: [UInt8] = []
    private var openSections: [(tag: String, lengthAt: Int)] = []

    public init(reservingCapacity capacity: Int = 1 << 16) {
        bytes.reserveCapacity(capacity)
    }

    /// Starts a section: a four-letter tag and a length that `endSection` fills in.
    public mutating func beginSection(_ tag: String) {
        precondition(tag.utf8.count == 4, "section tags are four ASCII letters")
        bytes.append(contentsOf: tag.utf8)
        openSections.append((tag, bytes.count))
        write(UInt64(0))
    }

    public mutating func endSection() {
        let section = openSections.removeLast()
        let length = UInt64(bytes.count - section.lengthAt - 8)
        withUnsafeBytes(of: length.littleEndian) { source in
            for index in 0..<8 { bytes[section.lengthAt + index] = source[index] }
        }
    }

    public mutating func write(_ value: UInt64) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    public mutating func write(_ value: Int64) { write(UInt64(bitPattern: value)) }
    public mutating func write(_ value: Int) { write(Int64(value)) }
    public mutating func write(_ value: Int32) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    public mutating func write(_ value: Double) { write(value.bitPattern) }
    public mutating func write(_ value: Float) {
        withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes.append(contentsOf: $0) }
    }

    public mutating func write(_ value: Bool) { bytes.append(value ? 1 : 0) }

    public mutating func write(_ value: String) {
        var value = value
        value.withUTF8 { utf8 in
            write(utf8.count)
            bytes.append(contentsOf: utf8)
        }
    }

    /// `count` floats verbatim (the host is little-endian on every platform this builds for).
    public mutating func write(floats pointer: UnsafePointer<Float>, count: Int) {
        write(count)
        bytes.append(contentsOf: UnsafeRawBufferPointer(start: pointer, count: count * MemoryLayout<Float>.stride))
    }

    public mutating func write(_ values: [Float]) {
        values.withUnsafeBufferPointer { write(floats: $0.baseAddress ?? UnsafePointer(bitPattern: 8)!, count: $0.count) }
    }

    public mutating func write(_ values: [Double]) {
        write(values.count)
        values.withUnsafeBytes { bytes.append(contentsOf: $0) }
    }

    public mutating func write(_ values: [Int32]) {
        write(values.count)
        values.withUnsafeBytes { bytes.append(contentsOf: $0) }
    }

    public mutating func write(_ values: [Int]) {
        write(values.count)
        for value in values { write(value) }
    }
}
