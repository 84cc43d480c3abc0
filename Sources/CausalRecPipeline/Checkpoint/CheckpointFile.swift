import Foundation

/// The byte layout of a checkpoint file:
///
///     "CRCKPT\r\n"             8 bytes: magic (the CR LF catches text-mode mangling)
///     format version           UInt32 LE
///     header length            UInt32 LE, then the header: CheckpointMetadata as JSON
///     body length              UInt64 LE, then the body: the state (StateWriter layout)
///     CRC-32C                  UInt32 LE over everything before it
///
/// The header is JSON so operators (and `jq`) can see what a checkpoint is without this
/// program; the body is binary because it is mostly floats that must come back bit for bit.
package enum CheckpointFile {
    package static let magic: [UInt8] = Array("CRCKPT\r\n".utf8)
    /// Bump when the layout above or the body's meaning changes incompatibly.
    package static let formatVersion: UInt32 = 1
    /// Headers are a few hundred bytes of JSON; anything far larger is not one of ours.
    static let maxHeaderBytes = 1 << 20

    package struct Contents: Sendable {
        package var metadata: CheckpointMetadata
        package var body: [UInt8]
    }

    /// Why a file is not a usable checkpoint.
    package struct ReadError: Error, CustomStringConvertible, Equatable {
        package let description: String
        /// The file is intact but this build cannot use it (another format version), as opposed
        /// to damaged (bad magic, truncated, checksum mismatch): a damaged newest checkpoint falls
        /// back to the previous one, an incompatible one stops start-up.
        package var isIncompatible = false

        init(description: String, isIncompatible: Bool = false) {
            self.description = description
            self.isIncompatible = isIncompatible
        }
    }

    /// The whole file in memory (tests and tools; the service streams through `CheckpointStore`).
    package static func encode(metadata: CheckpointMetadata, body: [UInt8]) throws -> [UInt8] {
        var bytes = try prefix(metadata: metadata, bodyLength: body.count)
        bytes.reserveCapacity(bytes.count + body.count + 4)
        bytes += body
        append(CRC32C.checksum(bytes), to: &bytes)
        return bytes
    }

    /// Everything before the body: magic, version, header length, header, body length.
    static func prefix(metadata: CheckpointMetadata, bodyLength: Int) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let header = Array(try encoder.encode(metadata))
        var bytes: [UInt8] = []
        bytes.reserveCapacity(magic.count + 16 + header.count)
        bytes += magic
        append(formatVersion, to: &bytes)
        append(UInt32(header.count), to: &bytes)
        bytes += header
        append(UInt64(bodyLength), to: &bytes)
        return bytes
    }

    /// Where the parts of a file are, once its prefix was checked.
    struct Layout {
        var metadata: CheckpointMetadata
        var bodyOffset: Int
        var bodyLength: Int
        /// The checksum's offset: the end of what it covers.
        var checksumOffset: Int { bodyOffset + bodyLength }
    }

    /// Only the header (cheap: for listing and matching), after checking magic and format.
    package static func decodeMetadata(_ bytes: [UInt8]) throws -> CheckpointMetadata {
        try readHeader(fileSize: bytes.count) { Array(bytes[$0..<$0 + $1]) }.metadata
    }

    /// Header and body, after verifying length and checksum.
    package static func decode(_ bytes: [UInt8]) throws -> Contents {
        let layout = try readLayout(fileSize: bytes.count) { Array(bytes[$0..<$0 + $1]) }
        let end = layout.checksumOffset
        let stored = read(UInt32.self, Array(bytes[end..<end + 4]), at: 0)
        let computed = bytes.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[..<end])) }
        try verify(stored: stored, computed: computed)
        return Contents(metadata: layout.metadata, body: Array(bytes[layout.bodyOffset..<end]))
    }

    static func verify(stored: UInt32, computed: UInt32) throws {
        guard stored == computed else {
            throw ReadError(description: "checksum mismatch (stored \(hex(stored)), computed \(hex(computed))): the file is corrupt")
        }
    }

    /// Checks the prefix of a file of `fileSize` bytes and that the body and checksum fill the
    /// rest exactly. `read(offset, count)` returns bytes of the file (always inside it).
    static func readLayout(fileSize: Int, _ read: (Int, Int) throws -> [UInt8]) throws -> Layout {
        let (metadata, headerEnd) = try readHeader(fileSize: fileSize, read)
        var position = headerEnd
        guard fileSize - position >= 8 else { throw ReadError(description: "truncated before the body length") }
        let bodyLength = Self.read(UInt64.self, try read(position, 8), at: 0)
        position += 8
        guard bodyLength <= UInt64(fileSize - position), fileSize - position - Int(bodyLength) == 4 else {
            let expected = UInt64(position) &+ bodyLength &+ 4
            throw ReadError(description: "truncated or padded: \(fileSize) bytes, the header promises \(expected)")
        }
        return Layout(metadata: metadata, bodyOffset: position, bodyLength: Int(bodyLength))
    }

    private static func readHeader(fileSize: Int, _ read: (Int, Int) throws -> [UInt8]) throws -> (metadata: CheckpointMetadata, end: Int) {
        guard fileSize >= magic.count + 8 else { throw ReadError(description: "truncated: only \(fileSize) bytes") }
        let start = try read(0, magic.count + 8)
        guard Array(start[0..<magic.count]) == magic else { throw ReadError(description: "not a CausalRec checkpoint (bad magic)") }
        var position = magic.count
        let version = Self.read(UInt32.self, start, at: position)
        guard version == formatVersion else {
            throw ReadError(description: version > formatVersion
                ? "written in checkpoint format \(version) by a newer release; this build reads format \(formatVersion)"
                : "written in checkpoint format \(version) by an older release; this build reads format \(formatVersion)",
                isIncompatible: true)
        }
        let headerLength = Int(Self.read(UInt32.self, start, at: position + 4))
        position += 8
        guard headerLength <= fileSize - position else { throw ReadError(description: "truncated inside the header") }
        guard headerLength <= maxHeaderBytes else { throw ReadError(description: "a header of \(headerLength) bytes is not a checkpoint header") }
        let header = try read(position, headerLength)
        do {
            let metadata = try JSONDecoder().decode(CheckpointMetadata.self, from: Data(header))
            return (metadata, position + headerLength)
        } catch {
            throw ReadError(description: "the header is not valid checkpoint metadata: \(error)")
        }
    }

    private static func append<Value: FixedWidthInteger>(_ value: Value, to bytes: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { bytes += $0 }
    }

    static func read<Value: FixedWidthInteger>(_: Value.Type, _ bytes: [UInt8], at position: Int) -> Value {
        var value: Value = 0
        for index in 0..<MemoryLayout<Value>.size { value |= Value(bytes[position + index]) << (8 * index) }
        return value
    }

    private static func hex(_ value: UInt32) -> String { "0x" + String(value, radix: 16) }
}
