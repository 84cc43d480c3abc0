import CausalRecCore
@testable import CausalRecPipeline
import Foundation
import KafkaTestSupport
import Logging
import Testing

@Suite("Checkpoint files and the store")
struct CheckpointStoreTests {
    static let identity = CheckpointIdentity(brokers: ["b:9092"], clusterID: "cluster-1", topic: "events", group: "g")

    static func metadata(_ identity: CheckpointIdentity = identity, applied: Int) -> CheckpointMetadata {
        CheckpointMetadata(stateLayout: 2, sequence: 0, writtenAtMilliseconds: 0, identity: identity,
                           offsets: [.init(partition: 0, offset: Int64(applied))], appliedEvents: applied, modelVersion: Int64(applied / 10),
                           generatorVersion: 0, sampler: "random", dimension: 8)
    }

    static func store(keep: Int = 5) throws -> (CheckpointStore, CapturingLogHandler, String) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ckpt-\(UUID().uuidString)").path
        let handler = CapturingLogHandler()
        let store = try CheckpointStore(directory: directory, keep: keep, logger: Logger(label: "ckpt") { _ in handler })
        return (store, handler, directory)
    }

    static func restore(_ store: CheckpointStore) throws -> CheckpointStore.Restored<[UInt8]>? {
        try store.restoreNewest(for: identity) { try $0.readBody() }
    }

    static func refusal(_ store: CheckpointStore, _ restore: (StoredCheckpoint) throws -> [UInt8] = { try $0.readBody() }) -> CheckpointStore.RestoreRefusal? {
        do {
            _ = try store.restoreNewest(for: identity, restore)
            return nil
        } catch {
            return error as? CheckpointStore.RestoreRefusal
        }
    }

    @Test("a file round-trips; a flipped byte, a truncation and a newer format are refused with reasons")
    func fileFormat() throws {
        let bytes = try CheckpointFile.encode(metadata: Self.metadata(applied: 7), body: Array(0..<200))
        let contents = try CheckpointFile.decode(bytes)
        #expect(contents.body == Array(0..<200))
        #expect(contents.metadata.appliedEvents == 7)

        var flipped = bytes
        flipped[bytes.count - 50] ^= 0x10
        #expect(throws: CheckpointFile.ReadError.self) { try CheckpointFile.decode(flipped) }
        do { _ = try CheckpointFile.decode(flipped) } catch { #expect("\(error)".contains("checksum mismatch")) }

        do { _ = try CheckpointFile.decode(Array(bytes.dropLast(30))) } catch { #expect("\(error)".contains("truncated")) }

        var newer = bytes
        newer[CheckpointFile.magic.count] = 2
        do {
            _ = try CheckpointFile.decode(newer)
            Issue.record("a newer format was read")
        } catch let error as CheckpointFile.ReadError {
            #expect(error.description == "written in checkpoint format 2 by a newer release; this build reads format 1")
            #expect(error.isIncompatible)
        }
    }

    @Test("damaged newer checkpoints fall back to the newest intact one; another input's checkpoint is left alone")
    func fallsBackOverDamage() throws {
        let (store, log, directory) = try Self.store()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let good = try store.write(metadata: Self.metadata(applied: 100), body: [1, 2, 3])
        let corrupt = try store.write(metadata: Self.metadata(applied: 200), body: [4, 5, 6])
        let truncated = try store.write(metadata: Self.metadata(applied: 300), body: [7, 8, 9])
        var foreignIdentity = Self.identity
        foreignIdentity.group = "another-group"
        let foreign = try store.write(metadata: Self.metadata(foreignIdentity, applied: 400), body: [10])

        var bytes = try Array(Data(contentsOf: URL(fileURLWithPath: corrupt)))
        bytes[bytes.count - 6] ^= 0xFF
        try Data(bytes).write(to: URL(fileURLWithPath: corrupt))
        let whole = try Data(contentsOf: URL(fileURLWithPath: truncated))
        try whole.prefix(whole.count - 3).write(to: URL(fileURLWithPath: truncated))

        let restored = try #require(try Self.restore(store))
        #expect(restored.path == good)
        #expect(restored.state == [1, 2, 3])
        #expect(restored.metadata.appliedEvents == 100)
        let lines = log.lines.withLock { $0 }
        let warnings = lines.filter { $0.hasPrefix("warning") }
        #expect(warnings.count == 2, "\(warnings)")
        #expect(warnings.contains { $0.contains("checkpoint-000000000003.ckpt skipped") && $0.contains("truncated") })
        #expect(warnings.contains { $0.contains("checkpoint-000000000002.ckpt skipped") && $0.contains("checksum mismatch") })
        #expect(lines.contains { $0.contains("checkpoint-000000000004.ckpt belongs to another input") && $0.contains("another-group") })
        #expect(FileManager.default.fileExists(atPath: foreign))
    }

    @Test("a checkpoint that exists but cannot be used stops the restore, naming the file and the reason")
    func refusesUnusable() throws {
        // The state does not fit this configuration (the restore closure refuses it).
        do {
            let (store, _, directory) = try Self.store()
            defer { try? FileManager.default.removeItem(atPath: directory) }
            try store.write(metadata: Self.metadata(applied: 1), body: [1])
            try store.write(metadata: Self.metadata(applied: 2), body: [2])
            let refusal = try #require(Self.refusal(store) { _ -> [UInt8] in throw StateReadError("sampler.name is dns in the checkpoint but random in the configuration") })
            #expect(refusal.file == "checkpoint-000000000002.ckpt")
            #expect(refusal.description.contains("sampler.name is dns"))
        }
        // Only another input's checkpoints: starting empty would silently drop them.
        do {
            let (store, _, directory) = try Self.store()
            defer { try? FileManager.default.removeItem(atPath: directory) }
            var other = Self.identity
            other.clusterID = "cluster-2"
            try store.write(metadata: Self.metadata(other, applied: 1), body: [1])
            let refusal = try #require(Self.refusal(store))
            #expect(refusal.reason.contains("cluster-2"))
        }
        // Every checkpoint damaged.
        do {
            let (store, _, directory) = try Self.store()
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let path = try store.write(metadata: Self.metadata(applied: 1), body: [1, 2, 3])
            var bytes = try Array(Data(contentsOf: URL(fileURLWithPath: path)))
            bytes[bytes.count - 6] ^= 0xFF
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            let refusal = try #require(Self.refusal(store))
            #expect(refusal.reason.contains("checksum mismatch") && refusal.reason.contains("no older checkpoint is intact"))
        }
        // Written by a newer release.
        do {
            let (store, _, directory) = try Self.store()
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let path = try store.write(metadata: Self.metadata(applied: 1), body: [1])
            var bytes = try Array(Data(contentsOf: URL(fileURLWithPath: path)))
            bytes[CheckpointFile.magic.count] = 9
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            #expect(Self.refusal(store)?.reason.contains("format 9 by a newer release") == true)
        }
        // An empty directory is no refusal.
        let (store, _, directory) = try Self.store()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        #expect(try Self.restore(store) == nil)
    }

    @Test("retention deletes only the running lineage's old checkpoints; an unfinished temporary file is cleaned up at start")
    func retention() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ckpt-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        do {
            let store = try CheckpointStore(directory: directory, keep: 2, logger: Logger(label: "ckpt"))
            for applied in 1...5 { try store.write(metadata: Self.metadata(applied: applied), body: [UInt8(applied)]) }
            #expect(store.files().map(\.sequence) == [5, 4])
        }
        let leftover = (directory as NSString).appendingPathComponent(".checkpoint-000000000006.ckpt.tmp")
        #expect(FileManager.default.createFile(atPath: leftover, contents: Data([1, 2, 3])))
        do {
            // A fresh start (no restore) is a new lineage: the old one's files are never deleted.
            let fresh = try CheckpointStore(directory: directory, keep: 2, logger: Logger(label: "ckpt"))
            #expect(!FileManager.default.fileExists(atPath: leftover))
            #expect(fresh.upcomingSequence == 6)
            for applied in 6...9 { try fresh.write(metadata: Self.metadata(applied: applied), body: [UInt8(applied)]) }
            #expect(fresh.files().map(\.sequence) == [9, 8, 5, 4])
        }
        // A restart restores the newest and continues its lineage.
        let restarted = try CheckpointStore(directory: directory, keep: 2, logger: Logger(label: "ckpt"))
        #expect(try Self.restore(restarted)?.state == [9])
        try restarted.write(metadata: Self.metadata(applied: 10), body: [10])
        #expect(restarted.files().map(\.sequence) == [10, 9, 5, 4])
    }

    @Test("one process per directory: a second store is refused naming the holder; files are private and never followed through links")
    func lockAndFileSafety() throws {
        let (store, _, directory) = try Self.store()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        do {
            _ = try CheckpointStore(directory: directory, keep: 5, logger: Logger(label: "ckpt"))
            Issue.record("a second store opened a locked directory")
        } catch {
            #expect("\(error)".contains("in use by another causalrec process (pid \(getpid()))"), "\(error)")
        }
        let path = try store.write(metadata: Self.metadata(applied: 1), body: [1])
        let mode = try #require(try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int)
        #expect(mode & 0o077 == 0, "checkpoint mode \(String(mode, radix: 8))")
        // A symlink under a checkpoint's name is not read through.
        let target = FileManager.default.temporaryDirectory.appendingPathComponent("ckpt-target-\(UUID().uuidString)").path
        try FileManager.default.copyItem(atPath: path, toPath: target)
        defer { try? FileManager.default.removeItem(atPath: target) }
        let link = (directory as NSString).appendingPathComponent("checkpoint-000000000099.ckpt")
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: target)
        #expect(try Self.restore(store)?.path == path)
    }
}
