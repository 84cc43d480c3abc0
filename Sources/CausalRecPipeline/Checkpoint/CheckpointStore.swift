import Foundation
import Logging
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A directory of checkpoint files: atomic writes, newest-first restore that skips damaged or
/// foreign files with a log line each, and retention of the last few.
///
/// A write goes to a hidden temporary file, is fsync'ed, renamed over the final name, and the
/// directory is fsync'ed — so after a crash at any instant the directory holds either the old
/// set of checkpoints or the old set plus the complete new one, never a torn file under a real
/// name. Leftover temporary files are removed at start-up.
public final class CheckpointStore {
    public let directory: String
    public let keep: Int
    private let logger: Logger
    private var nextSequence: Int

    public struct Restored<State> {
        public var state: State
        public var metadata: CheckpointMetadata
        public var path: String
    }

    public struct StoreError: Error, CustomStringConvertible {
        public let description: String
    }

    public init(directory: String, keep: Int, logger: Logger) throws {
        precondition(keep >= 1)
        self.directory = directory
        self.keep = keep
        self.logger = logger
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw StoreError(description: "cannot create the checkpoint directory '\(directory)': \(error.localizedDescription)")
        }
        guard access(directory, W_OK) == 0 else {
            throw StoreError(description: "the checkpoint directory '\(directory)' is not writable")
        }
        nextSequence = 1
        for name in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] where name.hasPrefix(".checkpoint-") {
            try? FileManager.default.removeItem(atPath: path(of: name))
            logger.debug("removed an unfinished checkpoint write", metadata: ["file": "\(name)"])
        }
        nextSequence = (files().map(\.sequence).max() ?? 0) + 1
    }

    /// Checkpoint files by sequence, newest first.
    public func files() -> [(sequence: Int, path: String)] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.compactMap { name -> (Int, String)? in
            guard name.hasPrefix("checkpoint-"), name.hasSuffix(".ckpt"),
                  let sequence = Int(name.dropFirst("checkpoint-".count).dropLast(".ckpt".count))
            else { return nil }
            return (sequence, path(of: name))
        }.sorted { $0.0 > $1.0 }
    }

    private func path(of name: String) -> String {
        (directory as NSString).appendingPathComponent(name)
    }

    /// The sequence number the next `write` will use.
    public var upcomingSequence: Int { nextSequence }

    /// Restores the newest checkpoint that belongs to `identity` and that `restore` accepts
    /// (it decodes the body; a throw means unreadable). Each file passed over is logged with why.
    public func restoreNewest<State>(for identity: CheckpointIdentity,
                                     _ restore: (CheckpointFile.Contents) throws -> State) -> Restored<State>?
    {
        for file in files() {
            let name = (file.path as NSString).lastPathComponent
            let contents: CheckpointFile.Contents
            do {
                contents = try CheckpointFile.decode(try Self.readAll(file.path))
            } catch {
                logger.warning("checkpoint \(name) skipped: \(error)")
                continue
            }
            if let reason = identity.mismatch(with: contents.metadata.identity) {
                logger.warning("checkpoint \(name) not restored: \(reason)")
                continue
            }
            do {
                let state = try restore(contents)
                return Restored(state: state, metadata: contents.metadata, path: file.path)
            } catch {
                logger.warning("checkpoint \(name) skipped: its state cannot be restored: \(error)")
            }
        }
        return nil
    }

    /// Writes a checkpoint atomically and durably, then deletes this identity's checkpoints
    /// beyond the newest `keep`. Returns the file's path.
    @discardableResult
    public func write(metadata: CheckpointMetadata, body: [UInt8]) throws -> String {
        var metadata = metadata
        metadata.sequence = nextSequence
        let bytes = try CheckpointFile.encode(metadata: metadata, body: body)
        let name = String(format: "checkpoint-%012d.ckpt", metadata.sequence)
        let final = path(of: name)
        let temporary = path(of: "." + name + ".tmp")
        try Self.writeDurably(bytes, to: temporary)
        guard rename(temporary, final) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw StoreError(description: "cannot rename '\(temporary)' to '\(final)': \(reason)")
        }
        try Self.syncDirectory(directory)
        nextSequence += 1
        prune(identity: metadata.identity)
        return final
    }

    private func prune(identity: CheckpointIdentity) {
        var kept = 0
        for file in files() {
            guard let metadata = try? CheckpointFile.decodeMetadata(Self.readHeaderBytes(file.path)),
                  identity.mismatch(with: metadata.identity) == nil
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

    static func readAll(_ path: String) throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw StoreError(description: "cannot read \(path)")
        }
        return [UInt8](data)
    }

    /// The magic, version and header of a file, without reading its (possibly large) body.
    static func readHeaderBytes(_ path: String) throws -> [UInt8] {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw StoreError(description: "cannot open \(path)") }
        defer { try? handle.close() }
        let start = [UInt8](try handle.read(upToCount: 16) ?? Data())
        guard start.count == 16 else { return start }
        let headerLength = Int(start[12]) | Int(start[13]) << 8 | Int(start[14]) << 16 | Int(start[15]) << 24
        return start + [UInt8](try handle.read(upToCount: headerLength) ?? Data())
    }

    private static func writeDurably(_ bytes: [UInt8], to path: String) throws {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw StoreError(description: "cannot create '\(path)': \(String(cString: strerror(errno)))")
        }
        var failure: String?
        bytes.withUnsafeBytes { buffer in
            var written = 0
            while written < buffer.count {
                let result = Glibc.write(descriptor, buffer.baseAddress! + written, buffer.count - written)
                if result < 0 {
                    if errno == EINTR { continue }
                    failure = "writing '\(path)': \(String(cString: strerror(errno)))"
                    return
                }
                written += result
            }
        }
        if failure == nil && fsync(descriptor) != 0 {
            failure = "fsync of '\(path)': \(String(cString: strerror(errno)))"
        }
        close(descriptor)
        if let failure {
            unlink(path)
            throw StoreError(description: failure)
        }
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
