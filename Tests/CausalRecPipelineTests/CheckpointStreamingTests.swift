import CausalRecCore
@testable import CausalRecPipeline
import Foundation
import Logging
import Testing

/// Checkpoints are written to their file through a small buffer and read back through a small
/// window, never held whole in memory. The file format must not change for it: a streamed file
/// is byte for byte what the in-memory encoder makes, and the streaming reader refuses exactly
/// what the in-memory one refuses.
@Suite("Checkpoints streamed to and from their files")
struct CheckpointStreamingTests {
    /// A body in memory, read through a window as a file is.
    final class MemorySource: StateSource {
        let bytes: [UInt8]
        init(_ bytes: [UInt8]) { self.bytes = bytes }

        func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int) throws {
            bytes.withUnsafeBytes { buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[offset..<offset + buffer.count])) }
        }
    }

    static func store(flushBytes: Int = 4 << 20) throws -> (CheckpointStore, String) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ckpt-stream-\(UUID().uuidString)").path
        let store = try CheckpointStore(directory: directory, keep: 5, logger: Logger(label: "ckpt"))
        store.flushBytes = flushBytes
        return (store, directory)
    }

    static func temporaryFiles(_ directory: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter { $0.hasSuffix(".tmp") }
    }

    /// Length and stored CRC-32C of `CheckpointFile.encode` for the fuzz fixtures' real states with
    /// `CheckpointStoreTests.metadata(applied: 7)`, as the encoder wrote them before checkpoints
    /// were streamed: the format (and the state's layout) must not drift. State layout 5 gave
    /// the recommender's parts their own sections, 36 bytes (layout 4: 26,964 and 34,417 bytes;
    /// layout 3: 26,955 and 34,408); a change here must come with a new layout number (the bodies
    /// themselves are pinned by `GoldenCheckpointTests`).
    static let golden: [String: (count: Int, checksum: UInt32)] = [
        "random": (27_000, 0xE1B4_F9F6),
        // CNSDiff version 2 since state layout 6 (its real negatives' memory and generated vectors).
        "cnsdiff": (47_067, 0xB54A_33C7),
    ]

    @Test("a streamed checkpoint file is byte for byte the in-memory encoding, which is unchanged, whatever the buffer size",
          arguments: ["random", "cnsdiff"])
    func streamedBytesMatch(sampler: String) throws {
        let fixture = CheckpointFuzzTests.Fixture(sampler: sampler)
        let body = fixture.realBody()
        let encoded = try CheckpointFile.encode(metadata: CheckpointStoreTests.metadata(applied: 7), body: body)
        let golden = try #require(Self.golden[sampler])
        #expect(encoded.count == golden.count)
        #expect(CheckpointFile.read(UInt32.self, encoded, at: encoded.count - 4) == golden.checksum)

        // Thresholds from "every write goes straight to the file" (every section length patched
        // in the file) to "all of it buffered" (patched in memory).
        for flushBytes in [1, 3, 8, 13, 100, 4_096, 4 << 20] {
            let (store, directory) = try Self.store(flushBytes: flushBytes)
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let path = try fixture.live.withExclusiveAccess { engine in
                try store.write(metadata: CheckpointStoreTests.metadata(applied: 7)) { writer in
                    CheckpointBody.write(engine: engine, userPartitions: fixture.live, to: &writer)
                }
            }
            let file = try Array(Data(contentsOf: URL(fileURLWithPath: path)))
            let expected = try CheckpointFile.encode(metadata: try CheckpointFile.decodeMetadata(file), body: body)
            #expect(file == expected, "buffer of \(flushBytes) bytes")
            #expect(Self.temporaryFiles(directory).isEmpty)
        }
    }

    @Test("a body read from its file through windows of any size restores the state that was written")
    func readsThroughWindows() throws {
        let fixture = CheckpointFuzzTests.Fixture(sampler: "cnsdiff")
        let body = fixture.realBody()
        let (store, directory) = try Self.store()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try store.write(metadata: CheckpointStoreTests.metadata(applied: 7), body: body)
        let restored = try #require(try store.restoreNewest(for: CheckpointStoreTests.identity) { checkpoint in
            for windowBytes in [1, 5, 64, 4_096, 1 << 20] {
                var reader = StateReader(count: checkpoint.bodyLength, source: checkpoint, windowBytes: windowBytes)
                let decoded = try CheckpointBody.decode(from: &reader, makeEngine: fixture.makeEngine)
                let live = LiveState(makeEngine: fixture.makeEngine)
                live.replace(with: decoded.engine, userPartitions: decoded.userPartitions)
                #expect(CheckpointBody.encode(engine: decoded.engine, userPartitions: live) == body, "window of \(windowBytes) bytes")
            }
            var reader = checkpoint.bodyReader()
            return try CheckpointBody.decode(from: &reader, makeEngine: fixture.makeEngine)
        })
        #expect(restored.state.engine.recommender.applied.total > 0)
        #expect(try StoredCheckpoint(path: restored.path).readBody() == body)
    }

    @Test("mutated bodies: the streaming reader refuses or accepts exactly as the in-memory reader, with the same sentence")
    func streamingReaderAgrees() throws {
        let fixture = CheckpointFuzzTests.Fixture(sampler: "exposed")
        let body = fixture.realBody()
        var random = Xoshiro256(seed: 0x57AE)
        func outcome(_ decode: () throws -> CheckpointBody) -> String {
            do {
                let decoded = try decode()
                return "accepted \(decoded.engine.recommender.applied.total)"
            } catch {
                return "\(error)"
            }
        }
        for index in 0..<1_500 {
            let mutated = index == 0 ? body : CheckpointFuzzTests.mutate(body, random: &random)
            let inMemory = outcome { try CheckpointBody.decode(mutated, makeEngine: fixture.makeEngine) }
            let streamed = outcome {
                var reader = StateReader(count: mutated.count, source: MemorySource(mutated), windowBytes: 1 + index % 97)
                return try CheckpointBody.decode(from: &reader, makeEngine: fixture.makeEngine)
            }
            #expect(inMemory == streamed)
        }
    }

    @Test("crafted files are refused by the file reader with the sentence the in-memory decoder gives")
    func craftedFiles() throws {
        let bytes = try CheckpointFile.encode(metadata: CheckpointStoreTests.metadata(applied: 7), body: Array(0..<200))
        var variants: [(String, [UInt8])] = [("intact", bytes), ("padded", bytes + [0]), ("empty", [])]
        for cut in [5, 12, 16, 40, bytes.count - 210, bytes.count - 204, bytes.count - 100, bytes.count - 1] {
            variants.append(("cut at \(cut)", Array(bytes.prefix(cut))))
        }
        for index in [0, 8, 12, 15, 30, bytes.count - 212, bytes.count - 205, bytes.count - 50, bytes.count - 2] {
            var flipped = bytes
            flipped[index] ^= 0x40
            variants.append(("flipped at \(index)", flipped))
        }
        var huge = bytes
        huge[bytes.count - 205] = 0x7F
        variants.append(("a body length past the end", huge))
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ckpt-crafted-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        for (name, variant) in variants {
            let path = (directory as NSString).appendingPathComponent("file")
            try Data(variant).write(to: URL(fileURLWithPath: path))
            func outcome(_ read: () throws -> (CheckpointMetadata, [UInt8])) -> String {
                do {
                    let (metadata, body) = try read()
                    return "read \(metadata.appliedEvents) \(body.count)"
                } catch let error as CheckpointFile.ReadError {
                    return "\(error.description) \(error.isIncompatible)"
                } catch {
                    return "\(error)"
                }
            }
            let inMemory = outcome { let contents = try CheckpointFile.decode(variant); return (contents.metadata, contents.body) }
            let streamed = outcome { let checkpoint = try StoredCheckpoint(path: path); return (checkpoint.metadata, try checkpoint.readBody()) }
            #expect(inMemory == streamed, "\(name)")
            #expect(name == "intact" ? inMemory == "read 7 200" : !inMemory.hasPrefix("read"), "\(name): \(inMemory)")
        }
        // Not a regular file.
        #expect(throws: CheckpointStore.StoreError.self) { try StoredCheckpoint(path: directory) }
    }

    @Test("a pending checkpoint given up or dropped leaves no file; one committed restores")
    func pendingCheckpoints() throws {
        let (store, directory) = try Self.store()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let abandoned = try store.begin(metadata: CheckpointStoreTests.metadata(applied: 1)) { $0.write(42) }
        #expect(Self.temporaryFiles(directory).count == 1)
        abandoned.abandon()
        #expect(Self.temporaryFiles(directory).isEmpty)
        do {
            _ = try store.begin(metadata: CheckpointStoreTests.metadata(applied: 2)) { $0.write(43) }
        }
        #expect(Self.temporaryFiles(directory).isEmpty)
        #expect(store.files().isEmpty)
        let pending = try store.begin(metadata: CheckpointStoreTests.metadata(applied: 3)) { $0.write(44) }
        #expect(pending.bodyLength == 8)
        let path = try store.commit(pending)
        #expect(Self.temporaryFiles(directory).isEmpty)
        #expect(store.files().map(\.path) == [path])
        let restored = try #require(try CheckpointStoreTests.restore(store))
        #expect(restored.state == [44, 0, 0, 0, 0, 0, 0, 0])
        #expect(restored.metadata.appliedEvents == 3 && restored.metadata.sequence == 1)
    }
}
