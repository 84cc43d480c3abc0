import ArgumentParser
import CausalRecCore
import CausalRecOffline
import CausalRecPipeline
import Foundation

struct ReplayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Backtest on a topic range or event files: test-then-train with several samplers side by side, then a report.",
        discussion: """
        Reads a topic with its own consumer and a manual assignment (it never joins or commits to the
        live group), or JSON-lines event files (no broker needed). Events of several partitions or
        files are merged by (ts, partition, offset). For every click each sampler's model ranks all
        items first, then learns the click. Writes report.json, report.md, hit-rate.svg, ndcg.svg
        and exposure-shift.svg into --report.
        """
    )

    @Option(help: "Pipeline configuration (model, sampler, drift and event-limit settings; brokers and topic for a topic replay).")
    var config: String?

    @Option(name: .customLong("input"), help: "JSON-lines event file (plain or .gz); repeat for several, merged by time.")
    var inputs: [String] = []

    @Option(name: .customLong("warm"), help: "Event file learned from before the replay, without scoring (e.g. train on one log, test on another); repeatable.")
    var warmFiles: [String] = []

    @Option(help: "Topic to replay (default: topics.events of the configuration).")
    var topic: String?

    @Option(help: "Brokers host:port,... (default: brokers of the configuration).")
    var brokers: String?

    @Flag(name: .customLong("from-beginning"), help: "Start at the beginning of every partition (the default).")
    var fromBeginning = false

    @Option(name: .customLong("from-offset"), help: "Start at this offset in every partition.")
    var fromOffset: Int64?

    @Option(name: .customLong("from-timestamp"), help: "Start at the first message at or after this time (epoch ms) in every partition.")
    var fromTimestamp: Int64?

    @Option(name: .customLong("to-timestamp"), help: "Stop each partition at its first message after this time (epoch ms); default: the end the topic had at the start.")
    var toTimestamp: Int64?

    @Option(help: "Samplers side by side, comma-separated (default: the configuration's sampler).")
    var samplers: String?

    @Option(help: "Report directory.")
    var report: String

    @Option(help: "Events per scored window in the report.")
    var window = 5_000

    @Option(name: .customLong("drift-window"), help: "Events per drift window (default: drift.window_events of --config, else --window); warm-up and cooldown follow it unless the configuration sets them.")
    var driftWindow: Int?

    @Option(help: "Seed of the models (default: the configuration's model seed).")
    var seed: UInt64?

    @Flag(help: "No progress bar.")
    var quiet = false

    func validate() throws {
        if window <= 0 { throw ValidationError("--window must be positive") }
        if let driftWindow, driftWindow <= 0 { throw ValidationError("--drift-window must be positive") }
        if [fromBeginning, fromOffset != nil, fromTimestamp != nil].filter({ $0 }).count > 1 {
            throw ValidationError("choose one of --from-beginning, --from-offset, --from-timestamp")
        }
        if !inputs.isEmpty && (topic != nil || fromOffset != nil || fromTimestamp != nil || toTimestamp != nil) {
            throw ValidationError("--input replays files; --topic, --from-offset, --from-timestamp and --to-timestamp are for a topic")
        }
    }

    func run() throws {
        let logger = CommandSupport.makeLogger()
        var configuration = PipelineConfiguration()
        if let config { configuration = try CommandSupport.loadConfiguration(config) }
        if let seed { configuration.recommender.seed = seed }
        if config == nil || driftWindow != nil {
            let size = driftWindow ?? window
            configuration.drift.windowEvents = size
            configuration.drift.warmupEvents = size
            configuration.drift.cooldownEvents = 4 * size
        }

        let source: any ReplayRecordSource
        if !inputs.isEmpty {
            source = ReplayFileSource(paths: inputs, limits: configuration.events)
        } else {
            let bootstrap: String
            if let brokers {
                bootstrap = try PipelineConfiguration.parseBrokerList(brokers)
            } else if case let .servers(list) = configuration.brokers {
                bootstrap = list.joined(separator: ",")
            } else {
                throw ValidationError("a topic replay needs brokers (--brokers or brokers: in --config); or replay files with --input")
            }
            let start: ReplayTopicRange.Start = fromOffset.map { .offset($0) } ?? fromTimestamp.map { .timestamp($0) } ?? .beginning
            source = ReplayTopicSource(range: ReplayTopicRange(bootstrapServers: bootstrap, topic: topic ?? configuration.topics.events,
                                                               start: start, endTimestamp: toTimestamp, properties: configuration.kafka),
                                       limits: configuration.events, logger: logger)
        }
        var options = ReplayOptions(samplers: samplers.map { $0.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) } } ?? [],
                                    configuration: configuration, windowEvents: window, reportDirectory: report)
        options.warmFiles = warmFiles
        options.progress = !quiet
        do {
            let summary = try ReplayRunner(options: options, logger: logger).run(from: source)
            for line in summary.lines { print(line) }
            print("report: \(report)/report.md")
        } catch let error as ReplaySourceError {
            logger.error("\(error.description)")
            throw ExitCode(2)
        }
    }
}
