/// Where a streaming `StateWriter` sends the bytes it no longer buffers (a checkpoint file, so a
/// state of hundreds of megabytes is never held twice). Offsets count from the first byte the
/// writer sent.
public protocol StateSink: AnyObject {
    /// Appends `bytes` after everything appended before.
    func append(_ bytes: UnsafeRawBufferPointer) throws
    /// Overwrites bytes appended earlier: a section's length is known only at its end, long after
    /// its start may have left the buffer.
    func overwrite(_ bytes: UnsafeRawBufferPointer, at offset: Int) throws
}

/// Appends the learning state to a byte buffer in a fixed little-endian layout: the body of a
/// checkpoint. Each component writes its own part between `beginSection`/`endSection` so a
/// reader can say which part is damaged or was written by an incompatible build.
///
/// The layout is deliberately plain (no field names, no optional keys): a checkpoint is read back
/// by the same format version only, and bit-exact restore needs every float verbatim.
///
/// A writer made with a `StateSink` hands its buffer to the sink whenever it passes a threshold
/// (and large float tables straight through), so it holds a few megabytes whatever the state's
/// size; the bytes the sink receives are exactly those an in-memory writer would hold.
public struct StateWriter {
    private var buffer: [UInt8] = []
    /// Bytes already handed to the sink: `buffer` starts at this offset of the body.
    private var flushed = 0
    private var openSections: [(tag: String, lengthAt: Int)] = []
    private let sink: (any StateSink)?
    private let flushThreshold: Int
    /// The sink's first failure; nothing is sent after it (`finish` reports it). Writing methods
    /// do not throw, so the dozens of components writing their state need not care where it goes.
    private var sinkError: (any Error)?

    public init(reservingCapacity capacity: Int = 1 << 16) {
        sink = nil
        flushThreshold = .max
        buffer.reserveCapacity(capacity)
    }

    /// A writer that keeps at most about `threshold` bytes before sending them to `sink`.
    public init(streamingTo sink: some StateSink, flushingAt threshold: Int = 4 << 20) {
        precondition(threshold > 0)
        self.sink = sink
        flushThreshold = threshold
        buffer.reserveCapacity(threshold)
    }

    /// Everything written (in-memory writers only: a streaming writer holds just its unsent tail).
    public var bytes: [UInt8] {
        precondition(sink == nil, "a streaming writer's bytes are in its sink")
        return buffer
    }

    /// Bytes written so far, sent or not.
    public var count: Int { flushed + buffer.count }

    /// Sends what is still buffered to the sink; throws the sink's first failure, if any.
    public mutating func finish() throws {
        precondition(openSections.isEmpty, "a section was not ended")
        flush()
        if let sinkError { throw sinkError }
    }

    /// Starts a section: a four-letter tag and a length that `endSection` fills in.
    public mutating func beginSection(_ tag: String) {
        precondition(tag.utf8.count == 4, "section tags are four ASCII letters")
        var tag = tag
        tag.withUTF8 { append(UnsafeRawBufferPointer($0)) }
        openSections.append((tag, count))
        write(UInt64(0))
    }

    public mutating func endSection() {
        let section = openSections.removeLast()
        let length = UInt64(count - section.lengthAt - 8)
        withUnsafeBytes(of: length.littleEndian) { overwrite($0, at: section.lengthAt) }
    }

    public mutating func write(_ value: UInt64) {
        withUnsafeBytes(of: value.littleEndian) { append($0) }
    }

    public mutating func write(_ value: Int64) { write(UInt64(bitPattern: value)) }
    public mutating func write(_ value: Int) { write(Int64(value)) }
    public mutating func write(_ value: Int32) {
        withUnsafeBytes(of: value.littleEndian) { append($0) }
    }

    public mutating func write(_ value: Double) { write(value.bitPattern) }
    public mutating func write(_ value: Float) {
        withUnsafeBytes(of: value.bitPattern.littleEndian) { append($0) }
    }

    public mutating func write(_ value: Bool) {
        withUnsafeBytes(of: UInt8(value ? 1 : 0)) { append($0) }
    }

    public mutating func write(_ value: String) {
        var value = value
        value.withUTF8 { utf8 in
            write(utf8.count)
            append(UnsafeRawBufferPointer(utf8))
        }
    }

    /// `count` floats verbatim (the host is little-endian on every platform this builds for).
    public mutating func write(floats pointer: UnsafePointer<Float>, count: Int) {
        write(count)
        append(UnsafeRawBufferPointer(start: pointer, count: count * MemoryLayout<Float>.stride))
    }

    public mutating func write(_ values: [Float]) {
        values.withUnsafeBufferPointer { write(floats: $0.baseAddress ?? UnsafePointer(bitPattern: 8)!, count: $0.count) }
    }

    public mutating func write(_ values: [Double]) {
        write(values.count)
        values.withUnsafeBytes { append($0) }
    }

    public mutating func write(_ values: [Int32]) {
        write(values.count)
        values.withUnsafeBytes { append($0) }
    }

    public mutating func write(_ values: [Int]) {
        write(values.count)
        for value in values { write(value) }
    }

    /// Bytes verbatim, without a length (a body assembled elsewhere).
    public mutating func write(raw bytes: UnsafeRawBufferPointer) {
        append(bytes)
    }

    // MARK: Buffering

    private mutating func append(_ bytes: UnsafeRawBufferPointer) {
        guard !bytes.isEmpty else { return }
        guard let sink else {
            buffer.append(contentsOf: bytes)
            return
        }
        if bytes.count >= flushThreshold {
            // An embedding table goes to the sink from where it lives, never through the buffer.
            flush()
            if sinkError == nil {
                do { try sink.append(bytes) } catch { sinkError = error }
            }
            flushed += bytes.count
            return
        }
        buffer.append(contentsOf: bytes)
        if buffer.count >= flushThreshold { flush() }
    }

    private mutating func flush() {
        guard let sink, !buffer.isEmpty else { return }
        if sinkError == nil {
            do { try buffer.withUnsafeBytes { try sink.append($0) } } catch { sinkError = error }
        }
        flushed += buffer.count
        buffer.removeAll(keepingCapacity: true)
    }

    /// Overwrites bytes at `offset` of the body: in the buffer where they still are, through the
    /// sink where they were sent (a range may straddle the two).
    private mutating func overwrite(_ bytes: UnsafeRawBufferPointer, at offset: Int) {
        let sent = max(0, min(bytes.count, flushed - offset))
        if sent > 0, let sink, sinkError == nil {
            do { try sink.overwrite(UnsafeRawBufferPointer(rebasing: bytes[0..<sent]), at: offset) } catch { sinkError = error }
        }
        for index in sent..<bytes.count { buffer[offset + index - flushed] = bytes[index] }
    }
}
