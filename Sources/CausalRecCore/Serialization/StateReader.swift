/// Why a checkpoint body could not be read.
public struct StateReadError: Error, CustomStringConvertible, Equatable {
    public let description: String

    /// Control characters (a crafted id may hold newlines) are shown escaped: a refusal is
    /// always one line of a log.
    public init(_ description: String) {
        var line = ""
        for scalar in description.unicodeScalars {
            if scalar.properties.generalCategory == .control || scalar == "\u{2028}" || scalar == "\u{2029}" {
                line += "\\u{\(String(scalar.value, radix: 16))}"
            } else {
                line.unicodeScalars.append(scalar)
            }
        }
        self.description = line
    }
}

/// Reads what `StateWriter` wrote, checking lengths and section tags so a damaged or foreign
/// body fails with a sentence instead of garbage state.
public struct StateReader {
    private let bytes: [UInt8]
    public private(set) var position = 0
    private var sectionEnds: [(tag: String, end: Int)] = []

    public init(_ bytes: [UInt8]) {
        self.bytes = bytes
    }

    public var isAtEnd: Bool { position == bytes.count }

    public mutating func beginSection(_ tag: String) throws {
        try need(12, "the '\(tag)' section header")
        let found = String(decoding: bytes[position..<position + 4], as: UTF8.self)
        guard found == tag else {
            throw StateReadError("expected the '\(tag)' section at byte \(position), found '\(found)'")
        }
        position += 4
        let stored = try readUInt64()
        guard stored <= UInt64(bytes.count - position) else {
            throw StateReadError("the '\(tag)' section claims \(stored) bytes but only \(bytes.count - position) remain")
        }
        let length = Int(stored)
        guard length <= bytes.count - position else {
            throw StateReadError("the '\(tag)' section claims \(length) bytes but only \(bytes.count - position) remain")
        }
        sectionEnds.append((tag, position + length))
    }

    public mutating func endSection() throws {
        let section = sectionEnds.removeLast()
        guard position == section.end else {
            throw StateReadError("the '\(section.tag)' section has \(section.end - position) unread bytes (written by another layout?)")
        }
    }

    private func need(_ count: Int, _ what: @autoclosure () -> String) throws {
        guard count >= 0, count <= bytes.count - position else {
            throw StateReadError("truncated while reading \(what()) at byte \(position)")
        }
    }

    public mutating func readUInt64() throws -> UInt64 {
        try need(8, "an integer")
        var value: UInt64 = 0
        for index in 0..<8 { value |= UInt64(bytes[position + index]) << (8 * UInt64(index)) }
        position += 8
        return value
    }

    public mutating func readInt64() throws -> Int64 { Int64(bitPattern: try readUInt64()) }
    public mutating func readInt() throws -> Int { Int(try readInt64()) }

    public mutating func readInt32() throws -> Int32 {
        try need(4, "an integer")
        var value: UInt32 = 0
        for index in 0..<4 { value |= UInt32(bytes[position + index]) << (8 * UInt32(index)) }
        position += 4
        return Int32(bitPattern: value)
    }

    public mutating func readDouble() throws -> Double { Double(bitPattern: try readUInt64()) }
    public mutating func readFloat() throws -> Float { Float(bitPattern: UInt32(bitPattern: try readInt32())) }

    public mutating func readBool() throws -> Bool {
        try need(1, "a flag")
        defer { position += 1 }
        return bytes[position] != 0
    }

    /// A count, checked against the bytes left (each element at least `elementSize` bytes).
    public mutating func readCount(elementSize: Int, _ what: String) throws -> Int {
        let count = try readInt()
        guard count >= 0, count <= (bytes.count - position) / max(elementSize, 1) else {
            throw StateReadError("\(what): a count of \(count) does not fit in the \(bytes.count - position) bytes left")
        }
        return count
    }

    public mutating func readString() throws -> String {
        let count = try readCount(elementSize: 1, "a string")
        defer { position += count }
        return String(decoding: bytes[position..<position + count], as: UTF8.self)
    }

    /// Reads a float array written by `write(floats:count:)` into `pointer`, which must hold
    /// `expectedCount` floats.
    public mutating func readFloats(into pointer: UnsafeMutablePointer<Float>, expectedCount: Int, _ what: String) throws {
        let count = try readCount(elementSize: 4, what)
        guard count == expectedCount else {
            throw StateReadError("\(what): \(count) values stored, \(expectedCount) expected")
        }
        bytes.withUnsafeBytes { source in
            UnsafeMutableRawPointer(pointer).copyMemory(from: source.baseAddress! + position, byteCount: count * 4)
        }
        position += count * 4
    }

    public mutating func readFloatArray() throws -> [Float] { try readArray("a float array") }
    public mutating func readDoubleArray() throws -> [Double] { try readArray("a double array") }
    public mutating func readInt32Array() throws -> [Int32] { try readArray("an integer array") }

    /// A count, then that many fixed-size values stored verbatim (little-endian hosts only, as
    /// the writer).
    private mutating func readArray<Element: BitwiseCopyable>(_ what: String) throws -> [Element] {
        let size = MemoryLayout<Element>.stride
        let count = try readCount(elementSize: size, what)
        let start = position
        let values = [Element](unsafeUninitializedCapacity: count) { buffer, initialized in
            bytes.withUnsafeBytes { source in
                UnsafeMutableRawBufferPointer(buffer).copyMemory(from: UnsafeRawBufferPointer(rebasing: source[start..<start + count * size]))
            }
            initialized = count
        }
        position += count * size
        return values
    }

    public mutating func readIntArray() throws -> [Int] {
        let count = try readCount(elementSize: 8, "an integer array")
        var values: [Int] = []
        values.reserveCapacity(count)
        for _ in 0..<count { values.append(try readInt()) }
        return values
    }

    /// Counts and sums of the state never come near this, and two values within ±limit can be
    /// added or subtracted without overflow: restored counters and times must stay inside it.
    public static let magnitudeLimit: Int64 = 1 << 60

    /// A counter (0 … 2⁶⁰): a crafted value near `Int.max` would trap at the next increment.
    public mutating func readCounter(_ what: @autoclosure () -> String) throws -> Int {
        let value = try readInt64()
        guard value >= 0, value <= Self.magnitudeLimit else { throw StateReadError("\(what()): \(value) is out of range") }
        return Int(value)
    }

    /// A time in milliseconds, or a difference of times (|value| ≤ 2⁶⁰).
    public mutating func readTime(_ what: @autoclosure () -> String) throws -> Int64 {
        let value = try readInt64()
        guard value >= -Self.magnitudeLimit, value <= Self.magnitudeLimit else {
            throw StateReadError("\(what()): \(value) is out of range")
        }
        return value
    }

    public mutating func readFiniteDouble(_ what: @autoclosure () -> String) throws -> Double {
        let value = try readDouble()
        guard value.isFinite else { throw StateReadError("\(what()): \(value) is not a finite number") }
        return value
    }

    public mutating func readFiniteFloat(_ what: @autoclosure () -> String) throws -> Float {
        let value = try readFloat()
        guard value.isFinite else { throw StateReadError("\(what()): \(value) is not a finite number") }
        return value
    }

    /// Fails unless `stored` equals `expected`, naming the setting.
    public func expect<Value: Equatable>(_ stored: Value, equals expected: Value, _ setting: String) throws {
        guard stored == expected else {
            throw StateReadError("\(setting) is \(stored) in the checkpoint but \(expected) in the configuration")
        }
    }
}
