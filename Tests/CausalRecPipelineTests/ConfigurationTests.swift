import CausalRecCore
@testable import CausalRecPipeline
import Foundation
import Testing

@Suite("pipeline.yaml: strict decoding with key paths")
struct ConfigurationTests {
    /// The repository root (for the shipped pipeline.yaml).
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    func error(_ yaml: String) -> ConfigurationError? {
        do {
            _ = try PipelineConfiguration.parse(yaml: yaml)
            return nil
        } catch let error as ConfigurationError {
            return error
        } catch {
            Issue.record("unexpected error \(error)")
            return nil
        }
    }

    @Test("the shipped file is valid and sets the fast-rejoin group timings")
    func shippedFile() throws {
        let configuration = try PipelineConfiguration.load(path: Self.root.appendingPathComponent("pipeline.yaml").path, environment: [:])
        #expect(configuration.brokers == .embedded)
        #expect(configuration.kafka["session.timeout.ms"] == "10000")
        #expect(configuration.kafka["heartbeat.interval.ms"] == "1000")
        #expect(configuration.kafka["max.poll.interval.ms"] == "30000")
        #expect(configuration.topics.deadLetter == "events.dlq")
        #expect(configuration.recommender.model.dimension == 64)
    }

    @Test("the shipped several-instances file (deploy/scale-out.yaml, used by docker-compose.yml) is valid")
    func shippedScaleOutFile() throws {
        let configuration = try PipelineConfiguration.load(path: Self.root.appendingPathComponent("deploy/scale-out.yaml").path, environment: [:])
        #expect(configuration.scaleOut.enabled && configuration.recommender.sharesItems)
        #expect(configuration.brokers == .servers(["kafka:9092"]))
        #expect(configuration.recommender.model.itemInitialization == .id)
    }

    @Test("the producer is idempotent unless the kafka: map switches it off")
    func idempotenceFromTheMap() throws {
        var configuration = PipelineConfiguration()
        #expect(KafkaClients.producerConfiguration(configuration, bootstrapServers: "b:1").idempotent)
        configuration.kafka["enable.idempotence"] = "false"
        #expect(!KafkaClients.producerConfiguration(configuration, bootstrapServers: "b:1").idempotent)
        configuration.kafka["enable.idempotence"] = "true"
        #expect(KafkaClients.producerConfiguration(configuration, bootstrapServers: "b:1").idempotent)
    }

    @Test("an empty file means all defaults")
    func emptyIsDefaults() throws {
        #expect(try PipelineConfiguration.parse(yaml: "") == PipelineConfiguration())
        #expect(try PipelineConfiguration.parse(yaml: "# nothing\n") == PipelineConfiguration())
    }

    @Test("each kind of mistake names its key path")
    func mistakesNameTheirPath() {
        let cases: [(yaml: String, path: String, reason: String)] = [
            ("modle:\n  dimension: 8\n", "modle", "is not a known setting"),
            ("model:\n  dimensions: 8\n", "model.dimensions", "is not a known setting"),
            ("model:\n  dimension: sixty\n", "model.dimension", "must be an integer"),
            ("model:\n  dimension: 0\n", "model.dimension", "must be between 1 and 1024"),
            ("model:\n  learning_rate: -1\n", "model.learning_rate", "must be between"),
            ("model:\n  optimizer: sgd\n  learning_rate: 10\n", "model.learning_rate", "must be between"),
            ("model:\n  optimizer: sgd\n  learning_rate: 1\n  l2: 2\n", "model.l2", "must stay below 1"),
            ("deconfounding:\n  training_exponent: 8\n", "deconfounding.training_exponent", "must be between"),
            ("retention:\n  max_users: -1\n", "retention.max_users", "must be between"),
            ("retention:\n  max_items: 1e12\n", "retention.max_items", "must"),
            ("sampler:\n  name: fancy\n", "sampler.name", "must be one of"),
            ("sampler:\n  name: cnsdiff\n  cnsdiff:\n    levels: 10/x\n", "sampler.cnsdiff.levels", "noise-level indices"),
            ("sampler:\n  name: cnsdiff\n  cnsdiff:\n    steps: 20\n    levels: 10/30\n", "sampler.cnsdiff.levels", "below steps"),
            ("sampler:\n  cnsdiff:\n    warp_speed: 9\n", "sampler.cnsdiff.warp_speed", "not a cnsdiff setting"),
            ("sampler:\n  name: causal\n  causal:\n    exposed_share: 2\n", "sampler.causal.exposed_share", "not a number in 0.0…1.0"),
            ("sampler:\n  causal:\n    hardness: 3\n", "sampler.causal.hardness", "not a causal setting"),
            ("exposure:\n  source: views\n", "exposure.source", "must be one of"),
            ("brokers: [localhost]\n", "brokers", "is not host:port"),
            ("brokers: [\"a:1\", 7]\n", "brokers[1]", "must be a non-empty string"),
            ("group_id: 123\n", "group_id", "must be a string"),
            ("publish:\n  on_click: maybe\n", "publish.on_click", "must be true or false"),
            ("topics:\n  events: a\n  recommendations: a\n", "topics", "four different topics"),
            ("topics: 3\n", "topics", "must be a mapping"),
            ("kafka:\n  no.such.property: 1\n", "kafka.no.such.property", "No such configuration property"),
            ("kafka:\n  session.timeout.ms: soon\n", "kafka.session.timeout.ms", "Invalid value"),
            ("consumer:\n  batch_size: 1000\n  batch_size: 10\n", "batch_size", "more than once"),
            ("model: [1, 2\n", "", "not valid YAML"),
            ("deconfounding:\n  training_exponent: -0.1\n", "deconfounding.training_exponent", "must be between 0.0 and 2.0, got -0.1"),
            ("deconfounding:\n  online_ranking_exponents: [0, -1]\n", "deconfounding.online_ranking_exponents[1]", "must be between"),
            ("deconfounding:\n  online_ranking_exponents: [0, high]\n", "deconfounding.online_ranking_exponents[1]", "must be a number"),
            ("deconfounding:\n  online_ranking_exponents: [0, 1, 1]\n", "deconfounding.online_ranking_exponents", "lists a value twice"),
            ("deconfounding:\n  cold_start_clicks: 0\n  cold_start_exponent: 1\n", "deconfounding.cold_start_clicks", "must be at least 1"),
            ("deconfounding:\n  gamma: 1\n", "deconfounding.gamma", "is not a known setting"),
            ("ranking:\n  approximate_candidates: 0\n", "ranking.approximate_candidates", "must be between 1 and"),
            ("deconfounding:\n  propensity_clip: 0.5\n", "deconfounding.propensity_clip", "must be between 1.0"),
            ("http:\n  max_connections_per_peer: 0\n", "http.max_connections_per_peer", "must be between 1 and 100000, got 0"),
            ("http:\n  request_timeout_seconds: soon\n", "http.request_timeout_seconds", "must be a number"),
            ("http:\n  request_timeout_seconds: 0\n", "http.request_timeout_seconds", "must be between 0.1 and 3600.0 seconds"),
            ("model:\n  item_init: hash\n", "model.item_init", "must be one of"),
            ("scale_out:\n  enabled: true\n", "model.item_init", "must be id with scale_out.enabled"),
            ("model:\n  item_init: id\ncheckpoint:\n  enabled: false\nscale_out:\n  enabled: true\n", "checkpoint.enabled", "must be true with scale_out.enabled"),
            ("scale_out:\n  changelog_topic: \"\"\n", "scale_out.changelog_topic", "must not be empty"),
            ("scale_out:\n  replicas: 2\n", "scale_out.replicas", "is not a known setting"),
            ("model:\n  item_init: id\nretention:\n  item_idle_seconds: 60\nscale_out:\n  enabled: true\n", "retention.item_idle_seconds", "must be 0 with scale_out.enabled"),
            ("model:\n  item_init: id\nretention:\n  item_admit_after: 2\nscale_out:\n  enabled: true\n", "retention.item_admit_after", "must be 1 with scale_out.enabled"),
            ("model:\n  item_init: id\nscale_out:\n  enabled: true\n  deltas_topic: events\n", "scale_out.deltas_topic", "must differ"),
            ("scale_out:\n  sync_interval_ms: 5\n", "scale_out.sync_interval_ms", "must be between 10 and"),
            ("model:\n  item_init: id\nscale_out:\n  enabled: true\n  snapshots_topic: causalrec-model-deltas\n", "scale_out.snapshots_topic", "must differ"),
            ("scale_out:\n  snapshot_interval_ms: -1\n", "scale_out.snapshot_interval_ms", "must be between 0 and"),
        ]
        for entry in cases {
            let found = error(entry.yaml)
            #expect(found?.path == entry.path, "\(entry.yaml) → \(found?.description ?? "accepted")")
            #expect(found?.reason.contains(entry.reason) == true, "\(entry.yaml) → \(found?.description ?? "accepted")")
        }
    }

    @Test("http limits reach the endpoint")
    func httpLimits() throws {
        let limits = try PipelineConfiguration.parse(yaml: """
        http:
          max_connections: 100
          max_connections_per_peer: 4
          request_timeout_seconds: 2.5
          idle_timeout_seconds: 10
        """).http.limits
        #expect(limits.maxConnections == 100 && limits.maxConnectionsPerPeer == 4)
        #expect(limits.requestTimeout == .milliseconds(2_500) && limits.idleTimeout == .seconds(10))
        let defaults = PipelineConfiguration().http.limits
        #expect(defaults == HTTPEndpointLimits())
    }

    @Test("deconfounding settings: a single number or a list, empty lists switch the online choice off")
    func deconfoundingSettings() throws {
        let parsed = try PipelineConfiguration.parse(yaml: """
        deconfounding:
          training_exponent: 0.15
          ranking_exponent: 0.5
          online_ranking_exponents: []
          cold_start_clicks: 3
          online_cold_start_exponents: 1
          propensity_weight_exponent: 0.5
          propensity_clip: 20
        """).recommender.deconfounding
        #expect(parsed.trainingExponent == 0.15)
        #expect(parsed.rankingExponent == 0.5)
        #expect(parsed.onlineRankingExponents.isEmpty)
        #expect(parsed.coldStartClicks == 3)
        #expect(parsed.onlineColdStartExponents == [1])
        #expect(parsed.propensityWeightExponent == 0.5 && parsed.propensityClip == 20)
        #expect(parsed.trainingLink == .eluPlusOne)
        let defaults = PipelineConfiguration().recommender.deconfounding
        #expect(defaults.trainingLink == .eluPlusOne && !defaults.adjustsRanking)
    }

    @Test("cnsdiff presets and settings")
    func cnsdiffSettings() throws {
        let configuration = try PipelineConfiguration.parse(yaml: """
            sampler:
              name: cnsdiff-no-invariance
              cnsdiff:
                steps: 40
                levels: 5/15/25
                schedule: linear:0.0001:0.02
                hardness: argmax
                intervention: false
            """)
        let cnsdiff = configuration.recommender.sampler.cnsdiff
        #expect(configuration.recommender.sampler.name == "cnsdiff-no-invariance")
        #expect(cnsdiff.invarianceWeight == 0 && cnsdiff.steps == 40 && cnsdiff.levels == [5, 15, 25])
        #expect(cnsdiff.schedule == .linear(start: 0.0001, end: 0.02) && cnsdiff.hardness == .argmax && !cnsdiff.intervention)
        // Settings that depend on each other are checked once all are set: `levels` (applied
        // before `steps` in key order) above the default steps but below the new ones is fine.
        let moreSteps = try PipelineConfiguration.parse(yaml: "sampler:\n  name: cnsdiff\n  cnsdiff:\n    steps: 100\n    levels: 60/70/80\n")
        #expect(moreSteps.recommender.sampler.cnsdiff.steps == 100 && moreSteps.recommender.sampler.cnsdiff.levels == [60, 70, 80])
        let reference = try PipelineConfiguration.parse(yaml: "sampler:\n  name: cnsdiff-reference\n")
        #expect(reference.recommender.sampler.cnsdiff == CNSDiffConfiguration.reference)
        #expect(reference.recommender.sampler.kind == .cnsdiffV1)
        // `cnsdiff` is version 2 with its own defaults; its stops are checked against the steps.
        let second = try PipelineConfiguration.parse(yaml: "sampler:\n  name: cnsdiff\n  cnsdiff:\n    stops: 30/10\n    term_weight: 0.2\n")
        #expect(second.recommender.sampler.cnsdiff.prediction == .epsilon && second.recommender.sampler.cnsdiff.stops == [30, 10])
        #expect(second.recommender.sampler.cnsdiff.termWeight == 0.2 && second.recommender.sampler.cnsdiff.filterGenerated)
        #expect(throws: ConfigurationError.self) {
            try PipelineConfiguration.parse(yaml: "sampler:\n  name: cnsdiff\n  cnsdiff:\n    stops: 49/10\n")
        }
    }

    @Test("environment variables override brokers and group id")
    func environmentOverrides() throws {
        let configuration = try PipelineConfiguration.parse(
            yaml: "brokers: embedded\ngroup_id: a\n",
            environment: ["CAUSALREC_BROKERS": "k1:9092, k2:9093", "CAUSALREC_GROUP_ID": "b"])
        #expect(configuration.brokers == .servers(["k1:9092", "k2:9093"]))
        #expect(configuration.groupID == "b")
        #expect(throws: ConfigurationError.self) {
            try PipelineConfiguration.parse(yaml: "", environment: ["CAUSALREC_BROKERS": "nonsense"])
        }
    }
}

@Suite("causalrec validate-config and run: exit code 2 on a bad configuration")
struct ConfigurationExitCodeTests {
    /// `swift build`/`swift test` put the executable next to the test bundle.
    static var binary: String {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("causalrec").path
    }

    static func run(_ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardError = pipe
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    static func write(_ text: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("causalrec-\(UUID().uuidString).yaml").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test("valid → 0, each kind of invalid → 2 with the key path on stderr", arguments: [
        ("model:\n  dimension: 0\n", "model.dimension"),
        ("modle: {}\n", "modle"),
        ("sampler:\n  name: fancy\n", "sampler.name"),
        ("model:\n  dimension: sixty\n", "model.dimension"),
        ("kafka:\n  no.such.property: 1\n", "kafka.no.such.property"),
    ])
    func exitCodes(yaml: String, path: String) throws {
        guard FileManager.default.isExecutableFile(atPath: Self.binary) else {
            Issue.record("\(Self.binary) is missing; build the package first")
            return
        }
        let file = try Self.write(yaml)
        defer { try? FileManager.default.removeItem(atPath: file) }
        let validate = try Self.run(["validate-config", file])
        #expect(validate.status == 2)
        #expect(validate.output.contains(path), "\(validate.output)")
        let run = try Self.run(["run", "--config", file, "--max-events", "1"])
        #expect(run.status == 2)
        #expect(run.output.contains(path))
    }

    @Test func validFileExitsZero() throws {
        guard FileManager.default.isExecutableFile(atPath: Self.binary) else {
            Issue.record("\(Self.binary) is missing; build the package first")
            return
        }
        let file = try Self.write("model:\n  dimension: 32\n")
        defer { try? FileManager.default.removeItem(atPath: file) }
        let result = try Self.run(["validate-config", file])
        #expect(result.status == 0, "\(result.output)")
        let missing = try Self.run(["validate-config", "/nonexistent/pipeline.yaml"])
        #expect(missing.status == 2)
        #expect(missing.output.contains("cannot read"))
    }
}
