import CausalRecCore
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A checkpoint file opened for a restore. Opening checks the prefix (magic, format, header,
/// lengths) and the checksum by streaming the file through a fixed buffer; the body is then read
/// on demand by a `StateReader` — the file is never held whole in memory, so a restore needs
/// memory for the state it builds and little more.
///
/// The checksum is verified before any of the body is decoded: it is what tells a damaged file
/// (fall back to an older checkpoint) from an intact one this build refuses (stop). It proves
/// nothing about who wrote the file — the body's decoding checks everything it reads.
package final class StoredCheckpoint: StateSource {
    package let metadata: CheckpointMetadata
    package let bodyLength: Int
    private let bodyOffset: Int
    private let descriptor: Int32
    private let path: String

    /// Chunks of the checksum pass and the body reader's window: large enough that system calls
    /// cost nothing next to the checksum, small next to any state.
    static let chunkBytes = 1 << 20

    /// Opens and verifies `path`, refusing symlinks and anything that is not a regular file.
    /// Throws `CheckpointStore.StoreError` when the file cannot be read, `CheckpointFile.ReadError`
    /// when it is not an intact checkpoint of this format.
    package init(path: String) throws {
        let descriptor = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw CheckpointStore.StoreError(description: "cannot open \(path): \(String(cString: strerror(errno)))")
        }
        self.descriptor = descriptor
        self.path = path
        do {
            var status = stat()
            guard fstat(descriptor, &status) == 0, (status.st_mode & S_IFMT) == S_IFREG else {
                throw CheckpointStore.StoreError(description: "\(path) is not a regular file")
            }
            // A state larger than the machine's memory could not be restored anyway.
            guard UInt64(status.st_size) < ProcessInfo.processInfo.physicalMemory else {
                throw CheckpointStore.StoreError(description: "\(path) is \(status.st_size) bytes, more than this machine's memory")
            }
            let fileSize = Int(status.st_size)
            let layout = try CheckpointFile.readLayout(fileSize: fileSize) { offset, count in
                var bytes = [UInt8](repeating: 0, count: count)
                try bytes.withUnsafeMutableBytes { try Self.readFully(descriptor, into: $0, at: offset, path: path) }
                return bytes
            }
            metadata = layout.metadata
            bodyOffset = layout.bodyOffset
            bodyLength = layout.bodyLength
            try Self.verifyChecksum(descriptor, covering: layout.checksumOffset, path: path)
        } catch {
            close(descriptor)
            throw error
        }
    }

    deinit {
        close(descriptor)
    }

    /// A reader of the body, through a window of `chunkBytes`.
    package func bodyReader() -> StateReader {
        StateReader(count: bodyLength, source: self, windowBytes: Self.chunkBytes)
    }

    /// The whole body in memory (tests and tools that want the bytes).
    package func readBody() throws -> [UInt8] {
        try [UInt8](unsafeUninitializedCapacity: bodyLength) { buffer, initialized in
            try read(into: UnsafeMutableRawBufferPointer(buffer), at: 0)
            initialized = bodyLength
        }
    }

    package func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int) throws {
        precondition(offset >= 0 && offset + buffer.count <= bodyLength)
        do {
            try Self.readFully(descriptor, into: buffer, at: bodyOffset + offset, path: path)
        } catch {
            throw StateReadError("\(error)")
        }
    }

    /// CRC-32C of the file's first `end` bytes against the 4 stored after them.
    private static func verifyChecksum(_ descriptor: Int32, covering end: Int, path: String) throws {
        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkBytes, alignment: 64)
        defer { chunk.deallocate() }
        var crc: UInt32 = 0
        var offset = 0
        while offset < end {
            let part = UnsafeMutableRawBufferPointer(rebasing: chunk[0..<min(chunkBytes, end - offset)])
            try readFully(descriptor, into: part, at: offset, path: path)
            crc = CRC32C.checksum(UnsafeRawBufferPointer(part), continuing: crc)
            offset += part.count
        }
        var stored = [UInt8](repeating: 0, count: 4)
        try stored.withUnsafeMutableBytes { try readFully(descriptor, into: $0, at: end, path: path) }
        try CheckpointFile.verify(stored: CheckpointFile.read(UInt32.self, stored, at: 0), computed: crc)
    }

    /// Fills `buffer` from `offset` of the file; a file shorter than its size said (it shrank
    /// since) is an error, never a short read taken for data.
    static func readFully(_ descriptor: Int32, into buffer: UnsafeMutableRawBufferPointer, at offset: Int, path: String) throws {
        var filled = 0
        while filled < buffer.count {
            let result = pread(descriptor, buffer.baseAddress! + filled, buffer.count - filled, off_t(offset + filled))
            if result < 0 && errno == EINTR { continue }
            guard result > 0 else {
                let reason = result < 0 ? String(cString: strerror(errno)) : "the file ended early (it changed while being read)"
                throw CheckpointStore.StoreError(description: "reading \(path) at byte \(offset + filled): \(reason)")
            }
            filled += result
        }
    }
}
