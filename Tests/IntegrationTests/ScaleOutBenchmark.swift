import CausalRecCore
import Foundation
import Kafka
import KafkaTestSupport
import Testing

/// Measured, not gated: one simulator stream served by 1, 2 and 3 instances in one group
/// (`bench/scale-out.sh` runs it with the release binary and writes BENCHMARKS.md). Per instance
/// count: events per second from the start of production to the last event read, the answers'
/// true quality by the simulator's preferences, restore seconds per partition, changelog bytes
/// per partition and delta bytes per second. Runs only when CAUSALREC_SCALE_OUT_BENCH names the
/// JSON file to write.
@Suite("Several instances: throughput and quality with 1, 2 and 3 (CAUSALREC_SCALE_OUT_BENCH)", .serialized,
       .enabled(if: RealBroker.bootstrap != nil && ProcessInfo.processInfo.environment["CAUSALREC_SCALE_OUT_BENCH"] != nil,
                "KAFKA_BOOTSTRAP or CAUSALREC_SCALE_OUT_BENCH is not set"))
struct ScaleOutBenchmark {
    var bootstrap: String { RealBroker.bootstrap! }
    static let partitions = 6
    static let events = 300_000
    static let pacedRate = 10_000.0

    struct Row: Encodable {
        var instances: Int
        /// Events per second the stream was produced at (nil: as fast as the producer goes).
        var producedPerSecond: Double?
        var events: Int
        var seconds: Double
        var eventsPerSecond: Double
        var answersJudged: Int
        var trueNDCG20: Double
        var trueClickProbability20: Double
        var restoreSecondsPerPartition: Double
        var changelogBytesPerPartition: Double
        var deltaBytesPerSecond: Double

        enum CodingKeys: String, CodingKey {
            case instances, events, seconds
            case producedPerSecond = "produced_per_second"
            case eventsPerSecond = "events_per_second"
            case answersJudged = "answers_judged"
            case trueNDCG20 = "true_ndcg@20"
            case trueClickProbability20 = "true_click_probability@20"
            case restoreSecondsPerPartition = "restore_seconds_per_partition"
            case changelogBytesPerPartition = "changelog_bytes_per_partition"
            case deltaBytesPerSecond = "delta_bytes_per_second"
        }
    }

    /// As `causalrec simulate --users 2000 --items 1000 --seed 7` builds it.
    static var simulatorConfiguration: SimulatorConfiguration {
        var configuration = SimulatorConfiguration()
        configuration.users = 2_000
        configuration.items = 1_000
        configuration.seed = 7
        return configuration
    }

    /// The stream `causalrec simulate` produces, noted here from a simulator of the same configuration.
    static let stream: ScaleOutStream = {
        var stream = ScaleOutStream(halfLifeMilliseconds: 3_600_000)
        var simulator = ClickSimulator(configuration: simulatorConfiguration)
        for _ in 0..<events { stream.note(simulator.next()) }
        return stream
    }()

    @Test("1, 2 and 3 instances on the same stream")
    func instances() throws {
        // Unpaced for the throughput; paced (the same events per second whatever the instance
        // count, so the same staleness of shared items in events) for the quality.
        var rows: [Row] = []
        // CAUSALREC_SCALE_OUT_PACED_ONLY: the quality rows alone (an experiment on the quality).
        let rates: [Double?] = ProcessInfo.processInfo.environment["CAUSALREC_SCALE_OUT_PACED_ONLY"] != nil ? [Self.pacedRate] : [nil, Self.pacedRate]
        for rate in rates {
            // CAUSALREC_SCALE_OUT_COUNTS: the instance counts ("1,3"), for a quicker experiment.
            for count in ProcessInfo.processInfo.environment["CAUSALREC_SCALE_OUT_COUNTS"].map({ $0.split(separator: ",").compactMap { Int($0) } }) ?? [1, 2, 3] {
                rows.append(try run(instances: count, rate: rate))
                print("scale-out benchmark: \(rows.last!)")
            }
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(rows).write(to: URL(fileURLWithPath: ProcessInfo.processInfo.environment["CAUSALREC_SCALE_OUT_BENCH"]!))
    }

    func run(instances count: Int, rate: Double?) throws -> Row {
        let suffix = TestKafka.uniqueName("bench\(count)")
        let group = "group-\(suffix)"
        let topics = ["events", "recommendations", "alerts", "dlq"].map { "\($0)-\(suffix)" }
        let admin = try KafkaAdmin(bootstrapServers: bootstrap, logger: TestKafka.logger)
        try admin.createTopics(topics.enumerated().map { KafkaTopicSpecification(name: $0.element, partitions: $0.offset == 0 ? Self.partitions : 1) },
                               timeout: .seconds(30))
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("bench-\(suffix)").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        let config = root + "/pipeline.yaml"
        // For experiments: CAUSALREC_SCALE_OUT_MODEL, extra `model:` keys ("optimizer: sgd;batch_size: 64");
        // CAUSALREC_SCALE_OUT_SYNC_MS, the sync interval; CAUSALREC_SCALE_OUT_SAMPLER, the sampler.
        let environment = ProcessInfo.processInfo.environment
        let model = environment["CAUSALREC_SCALE_OUT_MODEL"].map { $0.split(separator: ";").map(String.init) } ?? []
        try ScaleOutOnBrokerTests.writeConfig(config, group: group, topics: topics, checkpointEvents: 20_000, checkpointSeconds: 5, model: model,
                                              syncIntervalMilliseconds: environment["CAUSALREC_SCALE_OUT_SYNC_MS"].flatMap { Int($0) } ?? 1_000,
                                              sections: environment["CAUSALREC_SCALE_OUT_SAMPLER"].map { "sampler:\n  name: \($0)" } ?? "")

        // The instances join an empty topic one after the other (tansu needs a settled group
        // before the next join), then the whole stream is produced at once.
        var processes: [ServiceProcess] = []
        defer { for process in processes where process.isRunning { process.send(SIGKILL) } }
        for index in 0..<count {
            processes.append(try ServiceProcess(arguments: ["run", "--config", config, "--checkpoint-dir", "\(root)/\(index)", "--idle-exit", "600"],
                                                environment: ["CAUSALREC_BROKERS": bootstrap]))
            let settled = ScaleOutReading.waitUntilSettled(processes, partitions: Self.partitions)
            try #require(settled, "instance \(index) got no partitions: \(processes.map { String($0.stderr.suffix(1_500)) })")
        }
        let stream = Self.stream
        // The release binary produces far faster than the instances read: the time is theirs.
        let started = Date()
        let producer = try ServiceProcess(arguments: ["simulate", "--events", "\(Self.events)", "--users", "2000", "--items", "1000", "--seed", "7",
                                                      "--brokers", bootstrap, "--topic", topics[0]] + (rate.map { ["--rate", "\($0)"] } ?? []),
                                          environment: [:])
        let total = stream.valid
        var lastRead = -1
        var lastChange = Date()
        let deadline = Date().addingTimeInterval(900)
        while Date() < deadline {
            let read = processes.reduce(0) { $0 + KillRecoveryTests.messagesRead($1.stderr) }
            if read != lastRead { (lastRead, lastChange) = (read, Date()) }
            if read >= total && Date().timeIntervalSince(lastChange) > 3 { break }
            Thread.sleep(forTimeInterval: 0.05)
        }
        #expect(producer.waitForExit(within: 120).status == 0)
        #expect(lastRead >= total, "\(lastRead) of \(total) read")
        // The progress line is written every 0.2 s: the last change is within that of the end.
        let seconds = lastChange.timeIntervalSince(started)
        for process in processes { process.send(SIGTERM) }
        let finished = processes.map { $0.waitForExit(within: 120) }
        #expect(finished.allSatisfy { $0.status == 0 })

        // The answers of the last third of the stream, judged by the simulator's true preferences.
        let truth = ClickSimulator(configuration: Self.simulatorConfiguration)
        let recent = stream.firstTimestamp! + (stream.lastTimestamp - stream.firstTimestamp!) * 2 / 3
        var ndcg = 0.0, probability = 0.0, judged = 0
        for message in try ScaleOutReading.readAll(topics[1], partitions: 1, bootstrap: bootstrap) {
            guard let object = try JSONSerialization.jsonObject(with: Data(message.value)) as? [String: Any],
                  let user = (object["user"] as? String).flatMap(ClickSimulator.index(of:)),
                  let ts = (object["ts"] as? NSNumber)?.int64Value, ts >= recent,
                  let items = object["items"] as? [[String: Any]]
            else { continue }
            let list = items.compactMap { ($0["item"] as? String).flatMap(ClickSimulator.index(of:)) }
            let clicked = stream.clickedBefore(user: ClickSimulator.userID(user), ts: ts).compactMap(ClickSimulator.index(of:))
            var best = TopKSelector<Double>(capacity: 20)
            for item in 0..<Self.simulatorConfiguration.items where !clicked.contains(item) {
                best.offer(score: truth.trueClickProbability(user: user, item: item), item: Int32(item))
            }
            let relevant = ExcludedItems(sorted: best.sortedDescending().map(\.item).sorted())
            ndcg += RankingMetrics.ndcg(ranked: list.map(Int32.init), relevant: relevant, k: 20)
            probability += list.isEmpty ? 0 : list.reduce(0.0) { $0 + truth.trueClickProbability(user: user, item: $1) } / Double(list.count)
            judged += 1
        }
        let restores = finished.flatMap { $0.stderr.split(separator: "\n").filter { $0.contains("partition claimed") } }.compactMap { line in
            line.range(of: "seconds=").flatMap { Double(line[$0.upperBound...].prefix { !$0.isWhitespace }) }
        }
        let changelog = try ScaleOutReading.readAll("\(group)-users-changelog", partitions: Self.partitions, bootstrap: bootstrap)
        let deltas = try ScaleOutReading.readAll("\(group)-model-deltas", partitions: 1, bootstrap: bootstrap)
        return Row(instances: count, producedPerSecond: rate, events: stream.valid, seconds: seconds, eventsPerSecond: Double(stream.valid) / seconds,
                   answersJudged: judged, trueNDCG20: judged > 0 ? ndcg / Double(judged) : 0,
                   trueClickProbability20: judged > 0 ? probability / Double(judged) : 0,
                   restoreSecondsPerPartition: restores.isEmpty ? 0 : restores.reduce(0, +) / Double(restores.count),
                   changelogBytesPerPartition: Double(changelog.reduce(0) { $0 + $1.value.count }) / Double(Self.partitions),
                   deltaBytesPerSecond: Double(deltas.reduce(0) { $0 + $1.value.count }) / seconds)
    }
}
