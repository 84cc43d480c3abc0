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

/// Where a `StateReader` reads a body it does not hold whole (a checkpoint file): any range of
/// the body on demand, so restoring a state never needs a second copy of it in memory.
public protocol StateSource: AnyObject {
    /// Fills `buffer` with the body's bytes at `offset ..< offset + buffer.count` (always inside
    /// the body); throws when they cannot be read.
    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int) throws
}

/// Reads what `StateWriter` wrote, checking lengths and section tags so a damaged or foreign
/// body fails with a sentence instead of garbage state.
///
/// The body is either in memory or read from a `StateSource` through a window of fixed size;
/// large arrays (embedding tables) go from the source straight into their destination. Every
/// check is against the body's full length, so both behave alike on a crafted body.
public struct StateReader {
    /// The body's bytes at `windowStart ..< windowStart + windowCount` (all of it in memory).
    private var window: [UInt8]
    private var windowStart = 0
    private var windowCount: Int
    private let source: (any StateSource)?
    /// The body's length.
    private let end: Int
    public private(set) var position = 0
    private var sectionEnds: [(tag: String, end: Int)] = []

    public init(_ bytes: [UInt8]) {
        window = bytes
        windowCount = bytes.count
        end = bytes.count
        source = nil
    }

    /// A reader of a body of `count` bytes held by `source`, read through a window of
    /// `windowBytes`.
    public init(count: Int, source: some StateSource, windowBytes: Int = 1 << 20) {
        precondition(count >= 0 && windowBytes > 0)
        window = [UInt8](repeating: 0, count: min(count, windowBytes))
        windowCount = 0
        end = count
        self.source = source
    }

    public var isAtEnd: Bool { position == end }

    /// Bytes after the position.
    public var remaining: Int { end - position }

    public mutating func beginSection(_ tag: String) throws {
        try need(12, "the '\(tag)' section header")
        let at = position
        let found = try next(4) { String(decoding: $0, as: UTF8.self) }
        guard found == tag else {
            throw StateReadError("expected the '\(tag)' section at byte \(at), found '\(found)'")
        }
        let stored = try readUInt64()
        guard stored <= UInt64(remaining) else {
            throw StateReadError("the '\(tag)' section claims \(stored) bytes but only \(remaining) remain")
        }
        let length = Int(stored)
        sectionEnds.append((tag, position + length))
    }

    public mutating func endSection() throws {
        let section = sectionEnds.removeLast()
        guard position == section.end else {
            throw StateReadError("the '\(section.tag)' section has \(section.end - position) unread bytes (written by another layout?)")
        }
    }

    private func need(_ count: Int, _ what: @autoclosure () -> String) throws {
        guard count >= 0, count <= remaining else {
            throw StateReadError("truncated while reading \(what()) at byte \(position)")
        }
    }

    // MARK: Access to the bytes (callers check `need` first)

    /// Calls `body` with the next `count` bytes and moves past them.
    private mutating func next<Result>(_ count: Int, _ body: (UnsafeRawBufferPointer) throws -> Result) throws -> Result {
        guard count <= window.count else {
            let bytes = try [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
                try copy(into: UnsafeMutableRawBufferPointer(buffer))
                initialized = count
            }
            return try bytes.withUnsafeBytes(body)
        }
        if position < windowStart || position + count > windowStart + windowCount {
            try refill()
        }
        let start = position - windowStart
        position += count
        return try window.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[start..<start + count])) }
    }

    /// Moves the window to start at the position (a source's body only: an in-memory window
    /// holds everything `need` allows).
    private mutating func refill() throws {
        guard let source else { preconditionFailure("an in-memory read past the checked length") }
        let length = min(window.count, remaining)
        let offset = position
        try window.withUnsafeMutableBytes { try source.read(into: UnsafeMutableRawBufferPointer(rebasing: $0[0..<length]), at: offset) }
        windowStart = position
        windowCount = length
    }

    /// Copies the next `destination.count` bytes into `destination` and moves past them: what the
    /// window holds, the rest straight from the source.
    private mutating func copy(into destination: UnsafeMutableRawBufferPointer) throws {
        guard let base = destination.baseAddress, !destination.isEmpty else { return }
        var done = 0
        if position >= windowStart && position < windowStart + windowCount {
            done = min(destination.count, windowStart + windowCount - position)
            let start = position - windowStart
            window.withUnsafeBytes { base.copyMemory(from: $0.baseAddress! + start, byteCount: done) }
        }
        if done < destination.count {
            guard let source else { preconditionFailure("an in-memory read past the checked length") }
            try source.read(into: UnsafeMutableRawBufferPointer(rebasing: destination[done...]), at: position + done)
        }
        position += destination.count
    }

    // MARK: Values

    public mutating func readUInt64() throws -> UInt64 {
        try need(8, "an integer")
        return try next(8) { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
    }

    public mutating func readInt64() throws -> Int64 { Int64(bitPattern: try readUInt64()) }
    public mutating func readInt() throws -> Int { Int(try readInt64()) }

    public mutating func readInt32() throws -> Int32 {
        try need(4, "an integer")
        return try next(4) { Int32(bitPattern: UInt32(littleEndian: $0.loadUnaligned(as: UInt32.self))) }
    }

    public mutating func readDouble() throws -> Double { Double(bitPattern: try readUInt64()) }
    public mutating func readFloat() throws -> Float { Float(bitPattern: UInt32(bitPattern: try readInt32())) }

    public mutating func readBool() throws -> Bool {
        try need(1, "a flag")
        return try next(1) { $0[0] != 0 }
    }

    /// A count, checked against the bytes left (each element at least `elementSize` bytes).
    public mutating func readCount(elementSize: Int, _ what: String) throws -> Int {
        let count = try readInt()
        guard count >= 0, count <= remaining / max(elementSize, 1) else {
            throw StateReadError("\(what): a count of \(count) does not fit in the \(remaining) bytes left")
        }
        return count
    }

    /// A counted list, each element read by `element` (at least `elementSize` bytes each).
    public mutating func readList<Element>(elementSize: Int, _ what: String,
                                           _ element: (inout StateReader) throws -> Element) throws -> [Element]
    {
        let count = try readCount(elementSize: elementSize, what)
        var list: [Element] = []
        list.reserveCapacity(count)
        for _ in 0..<count { list.append(try element(&self)) }
        return list
    }

    public mutating func readString() throws -> String {
        let count = try readCount(elementSize: 1, "a string")
        return try next(count) { String(decoding: $0, as: UTF8.self) }
    }

    /// Reads a float array written by `write(floats:count:)` into `pointer`, which must hold
    /// `expectedCount` floats.
    public mutating func readFloats(into pointer: UnsafeMutablePointer<Float>, expectedCount: Int, _ what: String) throws {
        let count = try readCount(elementSize: 4, what)
        guard count == expectedCount else {
            throw StateReadError("\(what): \(count) values stored, \(expectedCount) expected")
        }
        try copy(into: UnsafeMutableRawBufferPointer(start: pointer, count: count * MemoryLayout<Float>.stride))
    }

    public mutating func readFloatArray() throws -> [Float] { try readArray("a float array") }
    public mutating func readDoubleArray() throws -> [Double] { try readArray("a double array") }
    public mutating func readInt32Array() throws -> [Int32] { try readArray("an integer array") }

    /// A count, then that many fixed-size values stored verbatim (little-endian hosts only, as
    /// the writer).
    private mutating func readArray<Element: BitwiseCopyable>(_ what: String) throws -> [Element] {
        let size = MemoryLayout<Element>.stride
        let count = try readCount(elementSize: size, what)
        return try [Element](unsafeUninitializedCapacity: count) { buffer, initialized in
            try copy(into: UnsafeMutableRawBufferPointer(buffer))
            initialized = count
        }
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
