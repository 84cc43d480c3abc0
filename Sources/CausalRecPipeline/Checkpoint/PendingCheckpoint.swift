import CausalRecCore
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A checkpoint written to its temporary file but not yet in place: `CheckpointStore.begin`
/// wrote the header and body, `CheckpointStore.commit` checksums, syncs and renames it. One
/// given up (outputs not settled, a failure, or simply dropped) is deleted: a temporary file
/// never outlives the attempt that wrote it.
package final class PendingCheckpoint {
    package let metadata: CheckpointMetadata
    package internal(set) var bodyLength = 0
    let temporary: String
    let final: String
    /// Bytes before the checksum.
    var length = 0
    private(set) var descriptor: Int32

    init(metadata: CheckpointMetadata, temporary: String, final: String, descriptor: Int32) {
        self.metadata = metadata
        self.temporary = temporary
        self.final = final
        self.descriptor = descriptor
    }

    deinit {
        abandon()
    }

    /// Deletes the temporary file (nothing once committed).
    package func abandon() {
        guard descriptor >= 0 else { return }
        close(descriptor)
        unlink(temporary)
        descriptor = -1
    }

    /// The file is complete and renamed: nothing left to delete.
    func markCommitted() {
        if descriptor >= 0 { close(descriptor) }
        descriptor = -1
    }
}

/// The `StateSink` of a checkpoint file: appends with write(2) (the body follows the prefix) and
/// patches a section's length with pwrite(2) at the body's offset in the file.
final class CheckpointFileSink: StateSink {
    private let descriptor: Int32
    private let bodyOffset: Int
    private let path: String

    init(descriptor: Int32, bodyOffset: Int, path: String) {
        self.descriptor = descriptor
        self.bodyOffset = bodyOffset
        self.path = path
    }

    func append(_ bytes: UnsafeRawBufferPointer) throws {
        var written = 0
        while written < bytes.count {
            let result = write(descriptor, bytes.baseAddress! + written, bytes.count - written)
            if result < 0 {
                if errno == EINTR { continue }
                throw CheckpointStore.StoreError(description: "writing '\(path)': \(String(cString: strerror(errno)))")
            }
            written += result
        }
    }

    func overwrite(_ bytes: UnsafeRawBufferPointer, at offset: Int) throws {
        try Self.writeFully(descriptor, bytes, at: bodyOffset + offset, path: path)
    }

    static func writeFully(_ descriptor: Int32, _ bytes: UnsafeRawBufferPointer, at offset: Int, path: String) throws {
        var written = 0
        while written < bytes.count {
            let result = pwrite(descriptor, bytes.baseAddress! + written, bytes.count - written, off_t(offset + written))
            if result < 0 {
                if errno == EINTR { continue }
                throw CheckpointStore.StoreError(description: "writing '\(path)': \(String(cString: strerror(errno)))")
            }
            written += result
        }
    }
}
