import CausalRecCore
import CausalRecPipeline
import Foundation
import Kafka
import KafkaTestSupport
import Logging
import Testing

/// `kill -9` at random points of a stream, then restarts: because the state and the input offsets
/// it reflects are restored together, every valid event ends up applied exactly once, and the final
/// state is bitwise the state of a run that was never interrupted.
///
/// The test process hosts the mock cluster; `causalrec run` is a child process that is killed.
@Suite("causalrec run survives kill -9", .serialized)
struct KillRecoveryTests {
    // The mock cluster keeps about 5 MB per partition before it drops the oldest messages, so the
    // stream stays well below that (30k events are ~4 MB).
    static let events = 30_000
    static let kills = 12

    struct Stream {
        var valid = 0
        var requests: [String: Int] = [:]
    }

    /// Appends events `range` of the simulator stream (and planted malformed messages) to the topic.
    static func produce(_ bootstrap: String, topic: String, range: Range<Int>, simulator: inout ClickSimulator,
                        into stream: inout Stream) throws
    {
        let producer = try KafkaProducer(configuration: .init(bootstrapServers: bootstrap), logger: TestKafka.logger)
        for index in range {
            let event = simulator.next()
            if case let .request(request) = event { stream.requests["\(request.user)|\(request.timestamp!)", default: 0] += 1 }
            try producer.send(topic: topic, key: event.user, value: EventEncoder.encode(event))
            stream.valid += 1
            if index % 5_000 == 17 {
                let planted = ServiceScenario.malformed[(index / 5_000) % ServiceScenario.malformed.count]
                try producer.send(topic: topic, key: "planted", value: planted.payload)
            }
        }
        try producer.close(timeout: .seconds(60))
    }

    static func writeConfig(suffix: String, group: String, checkpoints: String, partitions: Int = 1) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("kill-\(group).yaml").path
        try """
        group_id: \(group)
        topics:
          events: events-\(suffix)
          recommendations: recommendations-\(suffix)
          alerts: alerts-\(suffix)
          dead_letter: dlq-\(suffix)
          partitions: \(partitions)
          create: false
        kafka:
          session.timeout.ms: 3000
          heartbeat.interval.ms: 500
          max.poll.interval.ms: 10000
        consumer:
          batch_size: 100
        progress:
          interval_seconds: 0.1
        checkpoint:
          directory: \(checkpoints)
          every_events: 1700
          keep: 3
        http:
          enabled: false
        """.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    static func newestCheckpoint(_ directory: String) throws -> CheckpointFile.Contents? {
        let store = try CheckpointStore(directory: directory, keep: 3, logger: TestKafka.logger, lock: false)
        guard let newest = store.files().max(by: { $0.sequence < $1.sequence }) else { return nil }
        return try CheckpointFile.decode(Array(try Data(contentsOf: URL(fileURLWithPath: newest.path))))
    }

    /// The newest `progress events=N` of the log: messages read in this life.
    static func messagesRead(_ log: String) -> Int {
        guard let line = log.split(separator: "\n").last(where: { $0.contains("progress events=") }),
              let start = line.range(of: "progress events=")?.upperBound
        else { return 0 }
        return Int(line[start...].prefix { $0.isNumber }) ?? 0
    }

    static func runToEnd(config: String, bootstrap: String) throws -> ServiceProcess.Finished {
        let process = try ServiceProcess(arguments: ["run", "--config", config, "--idle-exit", "3"],
                                         environment: ["CAUSALREC_BROKERS": bootstrap])
        return process.waitForExit()
    }

    @Test("12 kills at random points: every event applied once, final state equals an uninterrupted run")
    func killedAtRandomPoints() throws {
        try killAndCompare(partitions: 1, events: Self.events, kills: Self.kills)
    }

    /// With several partitions the order in which their events interleave depends on fetch timing,
    /// so the state is not bitwise that of another run; what must hold is that every event was
    /// applied exactly once: per-type counts, every user's clicks, every item's click count, the
    /// exposures recorded and the positions all equal those of an uninterrupted run.
    @Test("6 kills on a 3-partition topic: every event applied exactly once (counts, clicks per user and item, positions)")
    func killedWithThreePartitions() throws {
        try killAndCompare(partitions: 3, events: 15_000, kills: 6)
    }

    /// What an order-independent comparison of two states looks at.
    struct Aggregates: Equatable {
        var applied: AppliedEventCounts
        var modelVersion: Int64
        var exposuresRecorded: Int
        var clicksByUser: [String: Set<String>]
        var clickCounts: [String: Int32]
        var offsets: [CheckpointMetadata.PartitionOffset]

        init(_ contents: CheckpointFile.Contents, config: String) throws {
            let configuration = try PipelineConfiguration.load(path: config)
            let recommender = OnlineRecommender(configuration: configuration.recommender)
            var reader = StateReader(contents.body)
            try recommender.readState(from: &reader)
            applied = recommender.applied
            modelVersion = recommender.modelVersion
            exposuresRecorded = recommender.exposure.recordedCount
            clicksByUser = [:]
            for row in 0..<recommender.users.count where recommender.users.isActive(Int32(row)) {
                let items = recommender.history.clicked(by: Int32(row)).map { recommender.items.identifier(of: $0) }
                if !items.isEmpty { clicksByUser[recommender.users.identifier(of: Int32(row))] = Set(items) }
            }
            clickCounts = [:]
            for (row, count) in recommender.history.clickCounts.enumerated() where count > 0 {
                clickCounts[recommender.items.identifier(of: Int32(row))] = count
            }
            offsets = contents.metadata.offsets
        }
    }

        func killAndCompare(partitions: Int, events: Int, kills: Int) throws {
        guard ServiceProcess.binaryExists else {
            Issue.record("\(ServiceProcess.binary) is missing; build the package first")
            return
        }
        let cluster = try KafkaMockCluster(brokers: 1, logger: TestKafka.logger)
        let suffix = String(UUID().uuidString.prefix(8).lowercased())
        for name in ["events", "recommendations", "alerts", "dlq"] {
            try cluster.createTopic("\(name)-\(suffix)", partitions: name == "events" ? partitions : 1)
        }
        var simulator = ClickSimulator(configuration: SimulatorConfiguration())
        var stream = Stream()

        let temporary = FileManager.default.temporaryDirectory
        let killedDirectory = temporary.appendingPathComponent("kill-\(suffix)-killed").path
        let referenceDirectory = temporary.appendingPathComponent("kill-\(suffix)-reference").path
        defer {
            try? FileManager.default.removeItem(atPath: killedDirectory)
            try? FileManager.default.removeItem(atPath: referenceDirectory)
        }
        let killedConfig = try Self.writeConfig(suffix: suffix, group: "killed-\(suffix)", checkpoints: killedDirectory, partitions: partitions)
        let referenceConfig = try Self.writeConfig(suffix: suffix, group: "reference-\(suffix)", checkpoints: referenceDirectory,
                                                   partitions: partitions)

        // The stream arrives in twelve parts, one per life of the process, so every kill lands
        // inside it whatever the machine's speed: each life gets the next part, makes real
        // progress, and is killed at a random moment — while consuming, while checkpointing, or
        // idle with events after its last checkpoint (every 1,700 events, so never aligned with a
        // part's end).
        var generator = SystemRandomNumberGenerator()
        var appliedAtKill: [Int] = []
        var producedAtKill: [Int] = []
        let part = events / kills
        for round in 1...kills {
            let process = try ServiceProcess(arguments: ["run", "--config", killedConfig],
                                             environment: ["CAUSALREC_BROKERS": cluster.bootstrapServers])
            try Self.produce(cluster.bootstrapServers, topic: "events-\(suffix)", range: (round - 1) * part..<round * part,
                             simulator: &simulator, into: &stream)
            // A random point of what this life has to read: the events since the last checkpoint.
            let checkpointed = (try Self.newestCheckpoint(killedDirectory))?.metadata.appliedEvents ?? 0
            let target = Int.random(in: 1...max(1, stream.valid - checkpointed), using: &generator)
            let progressed = process.waitForLog(timeout: 60) { Self.messagesRead($0) >= target }
            Thread.sleep(forTimeInterval: Double.random(in: 0...0.2, using: &generator))
            process.send(SIGKILL)
            let finished = process.waitForExit()
            guard finished.reason == .uncaughtSignal, progressed || round > 1 else {
                Issue.record("round \(round) ended on its own or made no progress: \(finished.stderr.suffix(1_500))")
                return
            }
            appliedAtKill.append((try Self.newestCheckpoint(killedDirectory))?.metadata.appliedEvents ?? 0)
            producedAtKill.append(stream.valid)
        }
        print("\(partitions) partition(s): checkpointed / produced events at the \(kills) kills: \(zip(appliedAtKill, producedAtKill).map { "\($0)/\($1)" })")
        #expect(stream.valid == events)
        // Every kill left events behind its last checkpoint, to be applied again after the restart.
        #expect(zip(appliedAtKill, producedAtKill).filter { $0 < $1 }.count >= kills - 2, "\(appliedAtKill) of \(producedAtKill)")

        let resumed = try Self.runToEnd(config: killedConfig, bootstrap: cluster.bootstrapServers)
        #expect(resumed.status == 0, "\(resumed.stderr.suffix(2_000))")
        #expect(resumed.applied == stream.valid, "applied \(resumed.applied ?? -1) of \(stream.valid) valid events")

        let reference = try Self.runToEnd(config: referenceConfig, bootstrap: cluster.bootstrapServers)
        #expect(reference.status == 0, "\(reference.stderr.suffix(2_000))")
        #expect(reference.applied == stream.valid)

        let killedState = try #require(try Self.newestCheckpoint(killedDirectory))
        let referenceState = try #require(try Self.newestCheckpoint(referenceDirectory))
        #expect(killedState.metadata.offsets == referenceState.metadata.offsets)
        #expect(killedState.metadata.modelVersion == referenceState.metadata.modelVersion)
        if partitions == 1 {
            #expect(killedState.body == referenceState.body, "the state after \(kills) kills differs from the uninterrupted one")
        }
        let killedAggregates = try Aggregates(killedState, config: killedConfig)
        let referenceAggregates = try Aggregates(referenceState, config: referenceConfig)
        #expect(killedAggregates == referenceAggregates, "an event was applied twice or not at all")
        #expect(killedAggregates.applied.total == stream.valid)
        #expect(killedAggregates.clickCounts.values.reduce(0) { $0 + Int($1) } == killedAggregates.applied.clicks)

        // Every request answered at least once; answers repeated after a crash carry the same content.
        let recommendations = try ServiceScenario(cluster: KafkaClusterConnection(.servers([cluster.bootstrapServers]), logger: TestKafka.logger))
            .read(topic: "recommendations-\(suffix)", partitions: 1, expected: 2 * stream.requests.values.reduce(0, +))
        // With several partitions the recommendations' content depends on the interleaving, so
        // repeated answers may differ; they must still exist for every request.
        var answers: [String: Set<String>] = [:]
        for payload in recommendations.payloads {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(payload)) as? [String: Any])
            let key = "\(object["user"] as? String ?? "")|\((object["ts"] as? NSNumber)?.int64Value ?? 0)"
            answers[key, default: []].insert(String(decoding: payload, as: UTF8.self))
        }
        let unanswered = stream.requests.keys.filter { answers[$0] == nil }
        #expect(unanswered.isEmpty, "\(unanswered.count) requests never answered")
        if partitions == 1 {
            #expect(answers.values.allSatisfy { $0.count == 1 }, "a repeated answer differs from the first")
        }
    }
}
