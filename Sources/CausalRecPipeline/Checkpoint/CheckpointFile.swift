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
public enum CheckpointFile {
    public static let magic: [UInt8] = Array("CRCKPT\r\n".utf8)
    /// Bump when the layout above or the body's meaning changes incompatibly.
    public static let formatVersion: UInt32 = 1
    /// Headers are a few hundred bytes of JSON; anything far larger is not one of ours.
    static let maxHeaderBytes = 1 << 20

    public struct Contents: Sendable {
        public var metadata: CheckpointMetadata
        public var body: [UInt8]
    }

    /// Why a file is not a usable checkpoint.
    public struct ReadError: Error, CustomStringConvertible, Equatable {
        public let description: String
        /// The file is intact but this build cannot use it (another format version), as opposed
        /// to damaged (bad magic, truncated, checksum mismatch): a damaged newest checkpoint falls
        /// back to the previous one, an incompatible one stops start-up.
        public var isIncompatible = false

        init(description: String, isIncompatible: Bool = false) {
            self.description = description
            self.isIncompatible = isIncompatible
        }
    }

    public static func encode(metadata: CheckpointMetadata, body: [UInt8]) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let header = Array(try encoder.encode(metadata))
        var bytes: [UInt8] = []
        bytes.reserveCapacity(magic.count + 16 + header.count + body.count + 4)
        bytes += magic
        append(formatVersion, to: &bytes)
        append(UInt32(header.count), to: &bytes)
        bytes += header
        append(UInt64(body.count), to: &bytes)
        bytes += body
        append(CRC32C.checksum(bytes), to: &bytes)
        return bytes
    }

    /// Only the header (cheap: for listing and matching), after checking magic and format.
    public static func decodeMetadata(_ bytes: [UInt8]) throws -> CheckpointMetadata {
        var position = 0
        return try readHeader(bytes, position: &position)
    }

    /// Header and body, after verifying length and checksum.
    public static func decode(_ bytes: [UInt8]) throws -> Contents {
        var position = 0
        let metadata = try readHeader(bytes, position: &position)
        guard bytes.count - position >= 8 else { throw ReadError(description: "truncated before the body length") }
        let bodyLength = read(UInt64.self, bytes, at: position)
        position += 8
        guard bodyLength <= UInt64(bytes.count - position), bytes.count - position - Int(bodyLength) == 4 else {
            let expected = UInt64(position) &+ bodyLength &+ 4
            throw ReadError(description: "truncated or padded: \(bytes.count) bytes, the header promises \(expected)")
        }
        let end = position + Int(bodyLength)
        let stored = read(UInt32.self, bytes, at: end)
        let computed = bytes.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[..<end])) }
        guard stored == computed else {
            throw ReadError(description: "checksum mismatch (stored \(hex(stored)), computed \(hex(computed))): the file is corrupt")
        }
        return Contents(metadata: metadata, body: Array(bytes[position..<end]))
    }

    private static func readHeader(_ bytes: [UInt8], position: inout Int) throws -> CheckpointMetadata {
        guard bytes.count >= magic.count + 8 else { throw ReadError(description: "truncated: only \(bytes.count) bytes") }
        guard Array(bytes[0..<magic.count]) == magic else { throw ReadError(description: "not a CausalRec checkpoint (bad magic)") }
        position = magic.count
        let version = read(UInt32.self, bytes, at: position)
        guard version == formatVersion else {
            throw ReadError(description: version > formatVersion
                ? "written in checkpoint format \(version) by a newer release; this build reads format \(formatVersion)"
                : "written in checkpoint format \(version) by an older release; this build reads format \(formatVersion)",
                isIncompatible: true)
        }
        let headerLength = Int(read(UInt32.self, bytes, at: position + 4))
        position += 8
        guard headerLength <= bytes.count - position else { throw ReadError(description: "truncated inside the header") }
        guard headerLength <= maxHeaderBytes else { throw ReadError(description: "a header of \(headerLength) bytes is not a checkpoint header") }
        do {
            let metadata = try JSONDecoder().decode(CheckpointMetadata.self, from: Data(bytes[position..<position + headerLength]))
            position += headerLength
            return metadata
        } catch {
            throw ReadError(description: "the header is not valid checkpoint metadata: \(error)")
        }
    }

    private static func append<Value: FixedWidthInteger>(_ value: Value, to bytes: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { bytes += $0 }
    }

    private static func read<Value: FixedWidthInteger>(_: Value.Type, _ bytes: [UInt8], at position: Int) -> Value {
        var value: Value = 0
        for index in 0..<MemoryLayout<Value>.size { value |= Value(bytes[position + index]) << (8 * index) }
        return value
    }

    private static func hex(_ value: UInt32) -> String { "0x" + String(value, radix: 16) }
}
