import CausalRecCore
import CausalRecPipeline
import Foundation
import Logging
#if canImport(Glibc)
import Glibc
#endif

/// Peak resident memory around writing and restoring a checkpoint of a large state, relative to
/// the resident memory of the state itself (Linux: VmHWM, reset through /proc/self/clear_refs).
/// A container sized for the steady state must survive its checkpoints. The state goes through
/// `CheckpointStore` as the service's does (its small pipeline section aside).
public struct CheckpointMemoryBenchmark {
    public var items: Int
    public var users: Int

    public init(items: Int = 300_000, users: Int = 20_000) {
        self.items = items
        self.users = users
    }

    public struct Result: Sendable {
        public var fileBytes: Int
        /// VmRSS with the state built, before the write.
        public var steadyBeforeWrite: Int
        public var writePeak: Int
        public var restorePeak: Int
        /// VmRSS with the restored state (the original released before the restore, as at a
        /// start-up).
        public var steadyAfterRestore: Int
    }

    /// VmRSS and VmHWM of this process in bytes (0 where /proc is unavailable).
    static func memory() -> (resident: Int, peak: Int) {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return (0, 0) }
        func field(_ name: String) -> Int {
            guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix(name) }) else { return 0 }
            return (line.split(separator: " ").compactMap { Int($0) }.first ?? 0) * 1_024
        }
        return (field("VmRSS:"), field("VmHWM:"))
    }

    /// Resets VmHWM to the current VmRSS, so the next reading is the peak of what follows.
    static func resetPeak() {
        let descriptor = open("/proc/self/clear_refs", O_WRONLY)
        guard descriptor >= 0 else { return }
        _ = write(descriptor, "5", 1)
        close(descriptor)
    }

    static func configuration() -> RecommenderConfiguration {
        var configuration = RecommenderConfiguration()
        configuration.model.dimension = 64
        // The size asked for, not the default row limits.
        configuration.retention.maxUsers = 0
        configuration.retention.maxItems = 0
        return configuration
    }

    static func makeEngine() -> StreamEngine {
        StreamEngine(recommender: OnlineRecommender(configuration: configuration()))
    }

    /// Impressions of 1,000 items each admit the items; a few clicks per user admit the users.
    func build() -> StreamEngine {
        let engine = Self.makeEngine()
        var time: Int64 = 1_700_000_000_000
        var next = 0
        while next < items {
            let batch = (next..<min(items, next + 1_000)).map { "i\($0)" }
            time += 1
            engine.step(.impression(Impression(user: "u\(next % max(users, 1))", items: batch, timestamp: time)), fallbackTimestamp: time)
            next += batch.count
        }
        for user in 0..<users {
            time += 1
            engine.step(.click(Click(user: "u\(user)", item: "i\((user &* 7_919) % max(items, 1))", timestamp: time)), fallbackTimestamp: time)
        }
        engine.recommender.flushTraining()
        return engine
    }

    public func measure(directory: String) throws -> Result {
        let identity = CheckpointIdentity(brokers: ["bench:9092"], clusterID: "bench", topic: "events", group: "bench")
        let metadata = CheckpointMetadata(stateLayout: OnlineRecommender.stateLayoutVersion, sequence: 0, writtenAtMilliseconds: 0,
                                          identity: identity, offsets: [], appliedEvents: 0, modelVersion: 0, generatorVersion: 0,
                                          sampler: "random", dimension: 64)
        let store = try CheckpointStore(directory: directory, keep: 1, logger: Logger(label: "bench"))
        var engine: StreamEngine? = build()
        let steadyBeforeWrite = Self.memory().resident
        Self.resetPeak()
        let path = try store.write(metadata: metadata) { writer in engine!.writeState(to: &writer) }
        let writePeak = Self.memory().peak
        let fileBytes = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0

        engine = nil
        Self.resetPeak()
        let restored = try store.restoreNewest(for: identity) { checkpoint -> StreamEngine in
            let engine = Self.makeEngine()
            var reader = checkpoint.bodyReader()
            try engine.readState(from: &reader)
            return engine
        }
        let restorePeak = Self.memory().peak
        let steadyAfterRestore = Self.memory().resident
        withExtendedLifetime(restored) {}
        return Result(fileBytes: fileBytes, steadyBeforeWrite: steadyBeforeWrite, writePeak: writePeak, restorePeak: restorePeak,
                      steadyAfterRestore: steadyAfterRestore)
    }

    public func run() throws -> [BenchmarkRecord] {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("checkpoint-memory-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let result = try measure(directory: directory)
        func megabytes(_ bytes: Int) -> Double { Double(bytes) / 1_048_576 }
        return [
            BenchmarkRecord(name: "checkpoint_memory.file", value: megabytes(result.fileBytes), unit: "MB"),
            BenchmarkRecord(name: "checkpoint_memory.write_peak", value: megabytes(result.writePeak), unit: "MB",
                            reference: megabytes(result.steadyBeforeWrite), referenceName: "steady RSS before the write"),
            BenchmarkRecord(name: "checkpoint_memory.restore_peak", value: megabytes(result.restorePeak), unit: "MB",
                            reference: megabytes(result.steadyAfterRestore), referenceName: "steady RSS after the restore"),
        ]
    }
}
