import CausalRecCore
@testable import CausalRecPipeline
import Foundation
import Kafka
import Logging
import Testing

/// Crafted checkpoints: a checksum proves nothing about who wrote a file, so the body reader must
/// refuse anything a run could not have produced. Real checkpoint bodies (every sampler, with
/// retention, drift and click publications in them) are mutated — bit flips, words overwritten
/// with boundary values, truncations, spliced ranges — and decoded. A refusal must be one line; an
/// accepted body must be safe to use: events, requests, a checkpoint of its own.
@Suite("Checkpoint bodies under fuzzing")
struct CheckpointFuzzTests {
    static let casesPerSampler = 26_000

    static func configuration(sampler: String) -> PipelineConfiguration {
        var configuration = PipelineConfiguration()
        var recommender = RecommenderConfiguration()
        recommender.sampler = SamplerConfiguration.named(sampler)!
        recommender.sampler.popularityRefreshEvery = 50
        recommender.sampler.cnsdiff.trainEvery = 16
        recommender.sampler.cnsdiff.hiddenWidth = 8
        recommender.sampler.cnsdiff.steps = 10
        recommender.sampler.cnsdiff.levels = [2, 4]
        recommender.sampler.cnsdiff.stops = [5, 2]
        recommender.sampler.cnsdiff.trainBatch = 8
        recommender.sampler.cnsdiff.bufferCapacity = 40
        recommender.model.dimension = 4
        recommender.trainingBatchSize = 8
        recommender.recentPositivesCapacity = 30
        recommender.evaluateEveryNthClick = 1
        recommender.evaluationWindow = 5
        recommender.popularityRefreshEvery = 20
        recommender.retention.itemAdmitAfter = 2
        recommender.retention.userIdleSeconds = 20
        recommender.retention.itemIdleSeconds = 30
        recommender.retention.sweepEvery = 50
        configuration.recommender = recommender
        configuration.drift.windowEvents = 100
        configuration.drift.warmupEvents = 100
        configuration.drift.minimumWindowClicks = 1
        configuration.publishing.onClick = true
        return configuration
    }

    static func events(_ count: Int, seed: UInt64) -> [Event] {
        var simulator = SimulatorConfiguration()
        simulator.users = 40
        simulator.items = 60
        simulator.churnEvery = 37
        simulator.requestProbability = 0.05
        simulator.seed = seed
        var generator = ClickSimulator(configuration: simulator)
        var result: [Event] = []
        for index in 0..<count {
            result.append(generator.next())
            if index % 211 == 100 { result.append(.forget(ForgetRequest(user: "u\(index % 40)", timestamp: nil))) }
        }
        return result
    }

    struct Fixture {
        let configuration: PipelineConfiguration
        let live: LiveState

        init(sampler: String) {
            configuration = CheckpointFuzzTests.configuration(sampler: sampler)
            live = LiveState(makeEngine: RecommenderService.engineFactory(configuration))
        }

        func makeEngine() -> StreamEngine { live.makeEngine() }

        /// A real body: the engine (recommender, drift monitor, click policy) and the users'
        /// partitions after a simulated stream.
        func realBody() -> [UInt8] {
            live.withExclusiveAccess { engine in
                for (index, event) in CheckpointFuzzTests.events(2_000, seed: 3).enumerated() {
                    let step = engine.step(event, fallbackTimestamp: engine.latestTimestamp)
                    if let row = step.userRow { live.noteUserPartition(row: row, partition: Int32(index % 3)) }
                }
                return CheckpointBody.encode(engine: engine, userPartitions: live)
            }
        }

        /// What a service does with a restored state: events of every kind (new ids too),
        /// queries, and its next checkpoint — which must read back.
        func use(_ restored: CheckpointBody, events: [Event]) throws {
            let engine = restored.engine
            for event in events { engine.step(event, fallbackTimestamp: engine.latestTimestamp) }
            let recommender = engine.recommender
            recommender.flushTraining()
            let scratch = recommender.makeQueryRanker()
            for user in ["u1", "u7", "nobody"] {
                _ = recommender.peekRecommendation(user: user, k: 1_000, at: 0, scratch: scratch)
                _ = recommender.recommend(user: user, k: 3, at: 0)
            }
            _ = recommender.mostClicked(limit: 50, excluding: ExcludedItems.none)
            let live = LiveState(makeEngine: makeEngine)
            live.replace(with: engine, userPartitions: restored.userPartitions)
            _ = live.query(user: "u3", k: 5, at: 0)
            let body = CheckpointBody.encode(engine: engine, userPartitions: live)
            _ = try CheckpointBody.decode(body, makeEngine: makeEngine)
        }
    }

    static let boundaryValues: [Int64] = [0, 1, -1, 2, 7, 255, 4_096, 65_535, Int64(Int32.max), Int64(Int32.min), 1 << 31, 1 << 40,
                                          Int64.max, Int64.min, Int64.max - 1, 1 << 62, -(1 << 62)]

    static func mutate(_ body: [UInt8], random: inout Xoshiro256) -> [UInt8] {
        var bytes = body
        switch random.nextIndex(below: 6) {
        case 0:
            for _ in 0...random.nextIndex(below: 4) {
                let index = random.nextIndex(below: bytes.count)
                bytes[index] ^= UInt8(1) << UInt8(random.nextIndex(below: 8))
            }
        case 1, 2:
            // A word (4 or 8 bytes, aligned or not) replaced by a boundary value or a near one.
            let width = random.nextIndex(below: 2) == 0 ? 4 : 8
            let index = random.nextIndex(below: bytes.count - width)
            var current: Int64 = 0
            for offset in 0..<width { current |= Int64(bytes[index + offset]) << (8 * Int64(offset)) }
            let value = random.nextIndex(below: 3) == 0 ? current &+ Int64(random.nextIndex(below: 5)) &- 2
                : boundaryValues[random.nextIndex(below: boundaryValues.count)]
            for offset in 0..<width { bytes[index + offset] = UInt8(truncatingIfNeeded: value >> (8 * Int64(offset))) }
        case 3:
            bytes.removeSubrange(random.nextIndex(below: bytes.count)...)
        case 4:
            let start = random.nextIndex(below: bytes.count)
            let length = min(bytes.count - start, 1 + random.nextIndex(below: 64))
            let target = random.nextIndex(below: bytes.count)
            bytes.insert(contentsOf: Array(bytes[start..<start + length]), at: target)
        default:
            let start = random.nextIndex(below: bytes.count)
            bytes.removeSubrange(start..<min(bytes.count, start + 1 + random.nextIndex(below: 16)))
        }
        return bytes
    }

    @Test("mutated real bodies are refused with one line or restore into a state that works",
          arguments: ["random", "popularity", "exposed", "causal", "cnsdiff"])
    func mutatedBodies(sampler: String) throws {
        let fixture = Fixture(sampler: sampler)
        let body = fixture.realBody()
        // The unmutated body restores and works.
        try fixture.use(try CheckpointBody.decode(body, makeEngine: fixture.makeEngine), events: Self.events(300, seed: 11))
        let after = Self.events(60, seed: 5)
        // CHECKPOINT_FUZZ_SEED explores other mutations; the suite's default is fixed so CI is repeatable.
        let seed = ProcessInfo.processInfo.environment["CHECKPOINT_FUZZ_SEED"].flatMap(UInt64.init) ?? 0xF0220
        var random = Xoshiro256(seed: seed &+ UInt64(sampler.utf8.count))
        var accepted = 0
        var reasons: [String: Int] = [:]
        for _ in 0..<Self.casesPerSampler {
            let mutated = Self.mutate(body, random: &random)
            do {
                let restored = try CheckpointBody.decode(mutated, makeEngine: fixture.makeEngine)
                accepted += 1
                try fixture.use(restored, events: after)
            } catch {
                let line = "\(error)"
                #expect(!line.isEmpty && !line.contains("\n"), "a refusal of more than one line: \(line)")
                reasons[String(line.prefix(40)), default: 0] += 1
            }
        }
        // Most mutations of a float survive (they are still valid floats); structure ones must not.
        #expect(accepted > 0 && accepted < Self.casesPerSampler)
        #expect(reasons.count > 20, "few distinct refusals: \(reasons.keys.sorted())")
    }
}
