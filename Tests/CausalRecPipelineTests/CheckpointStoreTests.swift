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

    static func restore(_ store: CheckpointStore) -> CheckpointStore.Restored<[UInt8]>? {
        store.restoreNewest(for: identity) { $0.body }
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
        } catch {
            #expect("\(error)" == "written in checkpoint format 2 by a newer release; this build reads format 1")
        }
    }

    @Test("the newest good checkpoint is restored; corrupt, truncated and foreign ones are skipped with a log line")
    func skipsBadCheckpoints() throws {
        let (store, log, directory) = try Self.store()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let good = try store.write(metadata: Self.metadata(applied: 100), body: [1, 2, 3])
        let corrupt = try store.write(metadata: Self.metadata(applied: 200), body: [4, 5, 6])
        let truncated = try store.write(metadata: Self.metadata(applied: 300), body: [7, 8, 9])
        var foreignIdentity = Self.identity
        foreignIdentity.group = "another-group"
        try store.write(metadata: Self.metadata(foreignIdentity, applied: 400), body: [10])

        var bytes = try Array(Data(contentsOf: URL(fileURLWithPath: corrupt)))
        bytes[bytes.count - 6] ^= 0xFF
        try Data(bytes).write(to: URL(fileURLWithPath: corrupt))
        let whole = try Data(contentsOf: URL(fileURLWithPath: truncated))
        try whole.prefix(whole.count - 3).write(to: URL(fileURLWithPath: truncated))

        let restored = try #require(Self.restore(store))
        #expect(restored.path == good)
        #expect(restored.state == [1, 2, 3])
        #expect(restored.metadata.appliedEvents == 100)
        let warnings = log.lines.withLock { $0 }.filter { $0.hasPrefix("warning") }
        #expect(warnings.count == 3, "\(warnings)")
        #expect(warnings.contains { $0.contains("checkpoint-000000000004.ckpt not restored") && $0.contains("another-group") })
        #expect(warnings.contains { $0.contains("checkpoint-000000000003.ckpt skipped") && $0.contains("truncated") })
        #expect(warnings.contains { $0.contains("checkpoint-000000000002.ckpt skipped") && $0.contains("checksum mismatch") })
    }

    @Test("only the newest `keep` of an identity stay; an unfinished temporary file is cleaned up at start")
    func retention() throws {
        let (store, _, directory) = try Self.store(keep: 2)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        for applied in 1...5 { try store.write(metadata: Self.metadata(applied: applied), body: [UInt8(applied)]) }
        #expect(store.files().map(\.sequence) == [5, 4])
        let leftover = (directory as NSString).appendingPathComponent(".checkpoint-000000000006.ckpt.tmp")
        #expect(FileManager.default.createFile(atPath: leftover, contents: Data([1, 2, 3])))
        let reopened = try CheckpointStore(directory: directory, keep: 2, logger: Logger(label: "ckpt"))
        #expect(!FileManager.default.fileExists(atPath: leftover))
        #expect(reopened.upcomingSequence == 6)
        #expect(Self.restore(reopened)?.state == [5])
    }
}
