import CausalRecCore
import Foundation
import Logging
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A directory of checkpoint files: atomic writes, newest-first restore, retention of the last
/// few, and an exclusive lock so two processes never share it.
///
/// A write goes to a hidden temporary file (created exclusively, never through a symlink, mode
/// 0600), is fsync'ed, renamed over the final name, and the directory is fsync'ed — so after a
/// crash at any instant the directory holds either the old set of checkpoints or the old set plus
/// the complete new one, never a torn file under a real name. Leftover temporary files are
/// removed at start-up. The body is streamed to the file and read back from it through buffers
/// of a few megabytes: neither a write nor a restore holds a second copy of the state.
///
/// Restore: a damaged file (bad magic, truncated, checksum mismatch) falls back to the previous
/// checkpoint with a log line. A file that is intact but unusable — another format, another
/// cluster, topic or group, a state this configuration cannot take — stops the restore with
/// `RestoreRefusal` instead: starting empty would quietly throw away what was learned, and the
/// group's committed offsets (which follow the checkpoints) would skip the events it held.
public final class CheckpointStore {
    public let directory: String
    public let keep: Int
    private let logger: Logger
    private var nextSequence: Int
    private var lockDescriptor: Int32 = -1
    /// The lineage of the running state: restored from a checkpoint or drawn for a fresh start.
    /// Retention deletes only this lineage's files.
    public private(set) var lineage: String

    public struct Restored<State> {
        public var state: State
        public var metadata: CheckpointMetadata
        public var path: String
    }

    public struct StoreError: Error, CustomStringConvertible {
        public let description: String
    }

    /// A checkpoint exists but cannot be used: the file and why.
    public struct RestoreRefusal: Error, CustomStringConvertible {
        public let file: String
        public let reason: String
        public var description: String { "checkpoint \(file) cannot be restored: \(reason)" }
    }

    /// Opens (creating it when missing) and locks the directory. `lock: false` reads a directory
    /// another process may hold (tests and tools only; never write through such a store).
    public init(directory: String, keep: Int, logger: Logger, lock: Bool = true) throws {
        precondition(keep >= 1)
        self.directory = directory
        self.keep = keep
        self.logger = logger
        lineage = Self.newLineage()
        nextSequence = 1
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o700])
        } catch {
            throw StoreError(description: "cannot create the checkpoint directory '\(directory)': \(error.localizedDescription)")
        }
        guard access(directory, W_OK) == 0 else {
            throw StoreError(description: "the checkpoint directory '\(directory)' is not writable")
        }
        if lock { try acquireLock() }
        for name in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] where name.hasPrefix(".checkpoint-") {
            unlink(path(of: name))
            logger.debug("removed an unfinished checkpoint write", metadata: ["file": "\(name)"])
        }
        nextSequence = (files().map(\.sequence).max() ?? 0) + 1
    }

    deinit {
        if lockDescriptor >= 0 { close(lockDescriptor) }
    }

    static let lockName = ".lock"

    /// An advisory lock on `.lock` held for the life of the store (released by the kernel when
    /// the process dies, so a crash never leaves the directory locked). The file holds the
    /// holder's pid so the refusal can name it.
    private func acquireLock() throws {
        let lockPath = path(of: Self.lockName)
        let descriptor = open(lockPath, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw StoreError(description: "cannot open the lock file '\(lockPath)': \(String(cString: strerror(errno)))")
        }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            var buffer = [UInt8](repeating: 0, count: 32)
            let count = pread(descriptor, &buffer, buffer.count, 0)
            close(descriptor)
            let holder = count > 0 ? String(decoding: buffer[0..<count], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) : "?"
            throw StoreError(description: "the checkpoint directory '\(directory)' is in use by another causalrec process (pid \(holder)); give each instance its own directory")
        }
        let pid = Array("\(getpid())\n".utf8)
        _ = ftruncate(descriptor, 0)
        _ = pwrite(descriptor, pid, pid.count, 0)
        lockDescriptor = descriptor
    }

    private static func newLineage() -> String {
        UUID().uuidString.lowercased()
    }

    /// Checkpoint files by sequence, newest first.
    public func files() -> [(sequence: Int, path: String)] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.compactMap { name -> (Int, String)? in
            guard name.hasPrefix("checkpoint-"), name.hasSuffix(".ckpt"),
                  let sequence = Int(name.dropFirst("checkpoint-".count).dropLast(".ckpt".count)), sequence >= 0
            else { return nil }
            return (sequence, path(of: name))
        }.sorted { $0.0 > $1.0 }
    }

    private func path(of name: String) -> String {
        (directory as NSString).appendingPathComponent(name)
    }

    /// The sequence number the next `write` will use.
    public var upcomingSequence: Int { nextSequence }

    /// Restores the newest checkpoint of `identity`: nil when the directory holds none at all.
    /// `restore` decodes the body (a throw means this build cannot use it); the file is verified
    /// (format, lengths, checksum) before it is called, and its body is read from disk as
    /// `restore` goes, never held whole in memory. Damaged files are passed over with a log line
    /// each; an intact one that cannot be used, a directory that holds only other inputs'
    /// checkpoints, or one whose checkpoints are all damaged throws `RestoreRefusal`. On success the store continues the restored checkpoint's lineage.
    package func restoreNewest<State>(for identity: CheckpointIdentity,
                                     _ restore: (StoredCheckpoint) throws -> State) throws -> Restored<State>?
    {
        var damaged: [(name: String, reason: String)] = []
        var foreign: [(name: String, reason: String)] = []
        for file in files() {
            let name = (file.path as NSString).lastPathComponent
            let checkpoint: StoredCheckpoint
            do {
                checkpoint = try StoredCheckpoint(path: file.path)
            } catch let error as CheckpointFile.ReadError where error.isIncompatible {
                throw RestoreRefusal(file: name, reason: error.description)
            } catch {
                logger.warning("checkpoint \(name) skipped: \(error)")
                damaged.append((name, "\(error)"))
                continue
            }
            if let reason = identity.mismatch(with: checkpoint.metadata.identity) {
                logger.info("checkpoint \(name) belongs to another input and is left alone: \(reason)")
                foreign.append((name, reason))
                continue
            }
            let state: State
            do {
                state = try restore(checkpoint)
            } catch {
                throw RestoreRefusal(file: name, reason: "\(error)")
            }
            lineage = checkpoint.metadata.lineage ?? Self.newLineage()
            return Restored(state: state, metadata: checkpoint.metadata, path: file.path)
        }
        if let newest = damaged.first {
            throw RestoreRefusal(file: newest.name, reason: "\(newest.reason) (and no older checkpoint is intact)")
        }
        if let newest = foreign.first {
            throw RestoreRefusal(file: newest.name, reason: newest.reason)
        }
        return nil
    }

    /// Writes a checkpoint atomically and durably (stamped with the running lineage), then
    /// deletes this lineage's checkpoints beyond the newest `keep`. Returns the file's path.
    @discardableResult
    public func write(metadata: CheckpointMetadata, body: [UInt8]) throws -> String {
        try write(metadata: metadata) { writer in body.withUnsafeBytes { writer.write(raw: $0) } }
    }

    /// `write(metadata:body:)` with the body written by `writeBody` straight to the file.
    @discardableResult
    public func write(metadata: CheckpointMetadata, writeBody: (inout StateWriter) -> Void) throws -> String {
        try commit(try begin(metadata: metadata, writeBody: writeBody))
    }

    /// The first half of a write: the header and the body (written by `writeBody`, streamed to
    /// the temporary file through a buffer of a few megabytes, so the state is never copied
    /// whole). Nothing is visible under a checkpoint's name until `commit`; the caller may do
    /// what must precede that (settle the outputs of the captured state) in between, and a
    /// pending checkpoint given up is deleted. One write at a time: the next sequence number is
    /// taken by `commit`.
    package func begin(metadata: CheckpointMetadata, writeBody: (inout StateWriter) -> Void) throws -> PendingCheckpoint {
        var metadata = metadata
        metadata.sequence = nextSequence
        metadata.lineage = lineage
        let prefix = try CheckpointFile.prefix(metadata: metadata, bodyLength: 0)
        let name = String(format: "checkpoint-%012d.ckpt", metadata.sequence)
        let final = path(of: name)
        let temporary = path(of: "." + name + ".tmp")
        // O_EXCL: never write through a file (or symlink) someone placed under this name.
        let descriptor = open(temporary, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw StoreError(description: "cannot create '\(temporary)': \(String(cString: strerror(errno)))")
        }
        // Deleted again if anything below throws (the pending checkpoint is dropped).
        let pending = PendingCheckpoint(metadata: metadata, temporary: temporary, final: final, descriptor: descriptor)
        let sink = CheckpointFileSink(descriptor: descriptor, bodyOffset: prefix.count, path: temporary)
        try prefix.withUnsafeBytes { try sink.append($0) }
        var writer = StateWriter(streamingTo: sink, flushingAt: flushBytes)
        writeBody(&writer)
        try writer.finish()
        // The body's length is known now; it goes in the 8 bytes before the body.
        try withUnsafeBytes(of: UInt64(writer.count).littleEndian) {
            try CheckpointFileSink.writeFully(descriptor, $0, at: prefix.count - 8, path: temporary)
        }
        pending.bodyLength = writer.count
        pending.length = prefix.count + writer.count
        return pending
    }

    /// Bytes a streaming body write buffers before writing them out.
    var flushBytes = 4 << 20

    /// The second half: appends the checksum (read back through a fixed buffer: section lengths
    /// were patched into bytes already written), fsyncs, renames over the final name, fsyncs the
    /// directory, prunes. Returns the file's path; on failure the temporary file is deleted.
    @discardableResult
    package func commit(_ pending: PendingCheckpoint) throws -> String {
        precondition(pending.descriptor >= 0, "a checkpoint committed twice or after it was abandoned")
        do {
            try Self.appendChecksum(pending)
            if fsync(pending.descriptor) != 0 {
                throw StoreError(description: "fsync of '\(pending.temporary)': \(String(cString: strerror(errno)))")
            }
            // The file's pages are clean now. A container's memory limit counts the page cache:
            // hand them back now rather than leave hundreds of megabytes for reclaim to find.
            _ = posix_fadvise(pending.descriptor, 0, 0, POSIX_FADV_DONTNEED)
            guard rename(pending.temporary, pending.final) == 0 else {
                throw StoreError(description: "cannot rename '\(pending.temporary)' to '\(pending.final)': \(String(cString: strerror(errno)))")
            }
        } catch {
            pending.abandon()
            throw error
        }
        pending.markCommitted()
        try Self.syncDirectory(directory)
        nextSequence += 1
        prune(identity: pending.metadata.identity)
        return pending.final
    }

    private static func appendChecksum(_ pending: PendingCheckpoint) throws {
        let chunkBytes = StoredCheckpoint.chunkBytes
        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkBytes, alignment: 64)
        defer { chunk.deallocate() }
        var crc: UInt32 = 0
        var offset = 0
        while offset < pending.length {
            let part = UnsafeMutableRawBufferPointer(rebasing: chunk[0..<min(chunkBytes, pending.length - offset)])
            try StoredCheckpoint.readFully(pending.descriptor, into: part, at: offset, path: pending.temporary)
            crc = CRC32C.checksum(UnsafeRawBufferPointer(part), continuing: crc)
            offset += part.count
        }
        try withUnsafeBytes(of: crc.littleEndian) {
            try CheckpointFileSink.writeFully(pending.descriptor, $0, at: pending.length, path: pending.temporary)
        }
    }

    /// Deletes checkpoints of this identity and lineage beyond the newest `keep`. Files of other
    /// lineages (a state this one was not restored from) and damaged files are never deleted.
    private func prune(identity: CheckpointIdentity) {
        var kept = 0
        for file in files() {
            guard let metadata = try? CheckpointFile.decodeMetadata(Self.readHeaderBytes(file.path)),
                  identity.mismatch(with: metadata.identity) == nil, metadata.lineage == lineage
            else { continue }
            kept += 1
            if kept > keep {
                if unlink(file.path) != 0 {
                    logger.warning("could not delete old checkpoint \(file.path): \(String(cString: strerror(errno)))")
                }
            }
        }
    }

    // MARK: Files

    /// The magic, version and header of a file, without reading its (possibly large) body.
    static func readHeaderBytes(_ path: String) throws -> [UInt8] {
        let descriptor = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard descriptor >= 0 else { throw StoreError(description: "cannot open \(path)") }
        defer { close(descriptor) }
        var start = [UInt8](repeating: 0, count: 16)
        guard pread(descriptor, &start, 16, 0) == 16 else { return [] }
        let headerLength = Int(start[12]) | Int(start[13]) << 8 | Int(start[14]) << 16 | Int(start[15]) << 24
        guard headerLength <= CheckpointFile.maxHeaderBytes else { return start }
        var header = [UInt8](repeating: 0, count: headerLength)
        let count = pread(descriptor, &header, headerLength, 16)
        return start + header.prefix(max(0, count))
    }

    private static func syncDirectory(_ path: String) throws {
        let descriptor = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else { return }
        defer { close(descriptor) }
        if fsync(descriptor) != 0 {
            throw StoreError(description: "fsync of the directory '\(path)': \(String(cString: strerror(errno)))")
        }
    }
}
