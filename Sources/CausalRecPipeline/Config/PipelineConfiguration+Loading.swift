import CausalRecCore
import Foundation
import Kafka
import Yams

extension PipelineConfiguration {
    /// Environment variables that override the file.
    public enum Environment {
        public static let brokers = "CAUSALREC_BROKERS"
        public static let groupID = "CAUSALREC_GROUP_ID"
    }

    /// Reads and validates a configuration file, then applies environment overrides.
    public static func load(path: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> PipelineConfiguration {
        // FileHandle rather than String(contentsOfFile:) so pipes such as /dev/stdin work too.
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw ConfigurationError(path: "", reason: "cannot read '\(path)': no such file or no permission")
        }
        defer { try? handle.close() }
        guard let data = try? handle.readToEnd() ?? Data(), let text = String(data: data, encoding: .utf8) else {
            throw ConfigurationError(path: "", reason: "cannot read '\(path)' as UTF-8 text")
        }
        return try parse(yaml: text, environment: environment)
    }

    public static func parse(yaml text: String, environment: [String: String] = [:]) throws -> PipelineConfiguration {
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch let YamlError.duplicatedKeysInMapping(duplicates, context) {
            throw ConfigurationError(path: duplicates.sorted().joined(separator: ", "), reason: "appears more than once in one mapping",
                                     line: context.mark.line)
        } catch let error as YamlError {
            throw ConfigurationError(path: "", reason: "not valid YAML: \(Self.summarize(error))")
        }
        let document = try ConfigurationSection(path: "", node: root)
        var configuration = PipelineConfiguration()
        try configuration.read(document)
        try document.finish()
        try configuration.applyOverrides(environment)
        try configuration.validateKafkaProperties()
        return configuration
    }

    private static func summarize(_ error: YamlError) -> String {
        switch error {
        case let .scanner(_, problem, mark, _), let .parser(_, problem, mark, _), let .composer(_, problem, mark, _):
            return "\(problem) at line \(mark.line), column \(mark.column)"
        default:
            return "\(error)"
        }
    }

    private mutating func read(_ document: ConfigurationSection) throws {
        if let brokerList = try document.stringList("brokers") {
            brokers = try Self.parseBrokers(brokerList, path: "brokers")
        }
        groupID = try document.string("group_id", default: groupID)

        try document.section("topics") { topicsSection in
            topics.events = try topicsSection.string("events", default: topics.events)
            topics.recommendations = try topicsSection.string("recommendations", default: topics.recommendations)
            topics.alerts = try topicsSection.string("alerts", default: topics.alerts)
            topics.deadLetter = try topicsSection.string("dead_letter", default: topics.deadLetter)
            topics.create = try topicsSection.boolean("create", default: topics.create)
            topics.partitions = try topicsSection.integer("partitions", default: topics.partitions, range: 1...10_000)
            topics.replicationFactor = try topicsSection.integer("replication_factor", default: topics.replicationFactor, range: 1...16)
        }
        let names = [topics.events, topics.recommendations, topics.alerts, topics.deadLetter]
        if Set(names).count != names.count {
            throw ConfigurationError(path: "topics", reason: "events, recommendations, alerts and dead_letter must be four different topics")
        }

        kafka = try document.stringMap("kafka")

        try document.section("consumer") { consumerSection in
            consumer.batchSize = try consumerSection.integer("batch_size", default: consumer.batchSize, range: 1...100_000, unit: "messages")
            consumer.pollTimeoutMilliseconds = try consumerSection.integer("poll_timeout_ms", default: consumer.pollTimeoutMilliseconds, range: 1...60_000, unit: "ms")
            consumer.commitIntervalMilliseconds = try consumerSection.integer("commit_interval_ms", default: consumer.commitIntervalMilliseconds, range: 10...3_600_000, unit: "ms")
        }

        try document.section("producer") { producerSection in
            producer.lingerMilliseconds = try producerSection.integer("linger_ms", default: producer.lingerMilliseconds, range: 0...60_000, unit: "ms")
            producer.deliveryTimeoutMilliseconds = try producerSection.integer("delivery_timeout_ms", default: producer.deliveryTimeoutMilliseconds, range: 0...86_400_000, unit: "ms")
            producer.queueFullTimeoutMilliseconds = try producerSection.integer("queue_full_timeout_ms", default: producer.queueFullTimeoutMilliseconds, range: 1...3_600_000, unit: "ms")
            producer.flushTimeoutMilliseconds = try producerSection.integer("flush_timeout_ms", default: producer.flushTimeoutMilliseconds, range: 1...3_600_000, unit: "ms")
        }

        try document.section("events") { eventsSection in
            events.maxEventBytes = try eventsSection.integer("max_event_bytes", default: events.maxEventBytes, range: 64...16_777_216, unit: "bytes")
            events.maxIdentifierBytes = try eventsSection.integer("max_id_bytes", default: events.maxIdentifierBytes, range: 1...65_536, unit: "bytes")
            events.maxSlateItems = try eventsSection.integer("max_slate_items", default: events.maxSlateItems, range: 1...100_000)
            events.maxFutureSkewSeconds = try eventsSection.number("max_future_skew_seconds", default: events.maxFutureSkewSeconds,
                                                                   range: 0...1e10, unit: "seconds")
        }

        try document.section("dead_letter") { deadLetterSection in
            deadLetter.maxPayloadBytes = try deadLetterSection.integer("max_payload_bytes", default: deadLetter.maxPayloadBytes,
                                                                       range: 0...16_777_216, unit: "bytes")
            deadLetter.prefixBytes = try deadLetterSection.integer("prefix_bytes", default: deadLetter.prefixBytes, range: 0...16_777_216, unit: "bytes")
            if deadLetter.prefixBytes > deadLetter.maxPayloadBytes {
                throw ConfigurationError(path: "dead_letter.prefix_bytes",
                                         reason: "must not exceed dead_letter.max_payload_bytes (\(deadLetter.maxPayloadBytes)), got \(deadLetter.prefixBytes)")
            }
        }

        try document.section("model") { modelSection in
            var model = recommender.model
            model.dimension = try modelSection.integer("dimension", default: model.dimension, range: 1...1_024)
            model.optimizer = try modelSection.choice("optimizer", default: model.optimizer)
            model.threads = try modelSection.integer("threads", default: model.threads, range: 1...256)
            // Up to 1 for either optimizer: larger steps only make a run diverge (with gradients
            // clipped the weights stay finite, but what they hold is noise).
            model.learningRate = Float(try modelSection.number("learning_rate", default: Double(model.learningRate), range: 0...1))
            model.l2 = Float(try modelSection.number("l2", default: Double(model.l2), range: 0...10))
            if model.optimizer == .sgd && model.learningRate * model.l2 >= 1 {
                throw ConfigurationError(path: "model.l2", reason: "with optimizer sgd, learning_rate × l2 must stay below 1 (it is \(model.learningRate * model.l2)); the weight decay would otherwise flip the sign of the weights and grow them every step", line: nil)
            }
            model.initialStandardDeviation = Float(try modelSection.number("init_std", default: Double(model.initialStandardDeviation), range: 0...10))
            model.useItemBias = try modelSection.boolean("item_bias", default: model.useItemBias)
            model.itemInitialization = try modelSection.choice("item_init", default: model.itemInitialization)
            let seed = try modelSection.integer("seed", default: Int(recommender.seed), range: 0...Int.max)
            model.seed = UInt64(seed)
            recommender.seed = UInt64(seed)
            recommender.trainingBatchSize = try modelSection.integer("batch_size", default: recommender.trainingBatchSize, range: 1...65_536, unit: "clicks")
            recommender.recentPositivesPerPositive = try modelSection.integer("replay_per_positive", default: recommender.recentPositivesPerPositive, range: 0...100)
            recommender.recentPositivesCapacity = try modelSection.integer("replay_capacity", default: recommender.recentPositivesCapacity, range: 0...100_000_000, unit: "positives")
            recommender.model = model
        }
        try readDeconfounding(document)
        try readRanking(document)

        try document.section("sampler") { samplerSection in
            let samplerName = try samplerSection.string("name", default: recommender.sampler.name)
            guard let named = SamplerConfiguration.named(samplerName) else {
                throw ConfigurationError(path: "sampler.name",
                                         reason: "must be one of \(SamplerConfiguration.names.joined(separator: ", ")), got '\(samplerName)'")
            }
            recommender.sampler = named
            let cnsdiffSettings = try samplerSection.stringMap("cnsdiff").sorted(by: { $0.key < $1.key }).map { (key: $0.key, value: $0.value) }
            do throws(CNSDiffConfiguration.SettingError) {
                try recommender.sampler.cnsdiff.apply(cnsdiffSettings)
            } catch {
                let key = switch error {
                case let .unknown(key): key
                case let .invalid(key, _, _): key
                }
                throw ConfigurationError(path: "sampler.cnsdiff.\(key)", reason: "\(error)")
            }
            let causalSettings = try samplerSection.stringMap("causal").sorted(by: { $0.key < $1.key }).map { (key: $0.key, value: $0.value) }
            do throws(CausalSamplerConfiguration.SettingError) {
                try recommender.sampler.causal.apply(causalSettings)
            } catch {
                throw ConfigurationError(path: "sampler.causal.\(error.key)", reason: error.message)
            }
            recommender.sampler.popularityExponent = try samplerSection.number("popularity_alpha", default: recommender.sampler.popularityExponent,
                                                                               range: 0...4)
            recommender.sampler.dnsCandidates = try samplerSection.integer("dns_candidates", default: recommender.sampler.dnsCandidates,
                                                                           range: 1...10_000)
        }

        try document.section("exposure") { exposureSection in
            var exposure = recommender.exposure
            exposure.halfLifeMilliseconds = 1_000 * (try exposureSection.number("half_life_seconds", default: exposure.halfLifeMilliseconds / 1_000,
                                                                                  range: 0.001...1e9, unit: "seconds"))
            exposure.environmentCount = try exposureSection.integer("environments", default: exposure.environmentCount, range: 1...64)
            exposure.requantileEvery = try exposureSection.integer("requantile_every", default: exposure.requantileEvery, range: 1...100_000_000, unit: "exposures")
            exposure.source = try exposureSection.choice("source", default: exposure.source)
            recommender.exposure = exposure
        }

        try document.section("publish") { publishSection in
            publishing.defaultK = try publishSection.integer("default_k", default: publishing.defaultK, range: 1...1_000)
            recommender.defaultRequestK = publishing.defaultK
            publishing.onClick = try publishSection.boolean("on_click", default: publishing.onClick)
            publishing.clickMinIntervalSeconds = try publishSection.number("click_min_interval_seconds", default: publishing.clickMinIntervalSeconds,
                                                                          range: 0...1e9, unit: "seconds")
        }

        try document.section("progress") { progressSection in
            progress.intervalSeconds = try progressSection.number("interval_seconds", default: progress.intervalSeconds, range: 0.1...86_400, unit: "seconds")
            recommender.evaluationK = try progressSection.integer("hit_rate_k", default: recommender.evaluationK, range: 1...1_000)
            recommender.evaluateEveryNthClick = try progressSection.integer("evaluate_every_nth_click", default: recommender.evaluateEveryNthClick, range: 0...1_000_000)
        }

        try document.section("checkpoint") { checkpointSection in
            checkpoint.enabled = try checkpointSection.boolean("enabled", default: checkpoint.enabled)
            checkpoint.directory = try checkpointSection.string("directory", default: checkpoint.directory)
            if checkpoint.directory.isEmpty {
                throw ConfigurationError(path: "checkpoint.directory", reason: "must not be empty")
            }
            checkpoint.everyEvents = try checkpointSection.integer("every_events", default: checkpoint.everyEvents, range: 1...1_000_000_000, unit: "events")
            checkpoint.everySeconds = try checkpointSection.number("every_seconds", default: checkpoint.everySeconds, range: 0.1...86_400, unit: "seconds")
            checkpoint.keep = try checkpointSection.integer("keep", default: checkpoint.keep, range: 1...1_000)
            checkpoint.maxAgeSeconds = try checkpointSection.number("max_age_seconds", default: checkpoint.maxAgeSeconds, range: 1...1e7, unit: "seconds")
        }

        try document.section("scale_out") { section in
            scaleOut.enabled = try section.boolean("enabled", default: scaleOut.enabled)
            let topic = try section.string("changelog_topic", default: "")
            if !topic.isEmpty { scaleOut.changelogTopic = topic }
            let deltas = try section.string("deltas_topic", default: "")
            if !deltas.isEmpty { scaleOut.deltasTopic = deltas }
            scaleOut.syncIntervalMilliseconds = try section.integer("sync_interval_ms", default: scaleOut.syncIntervalMilliseconds,
                                                                    range: 10...600_000, unit: "milliseconds")
            let snapshots = try section.string("snapshots_topic", default: "")
            if !snapshots.isEmpty { scaleOut.snapshotsTopic = snapshots }
            scaleOut.snapshotIntervalMilliseconds = try section.integer("snapshot_interval_ms", default: scaleOut.snapshotIntervalMilliseconds,
                                                                        range: 0...86_400_000, unit: "milliseconds")
        }

        try document.section("drift") { driftSection in
            drift.enabled = try driftSection.boolean("enabled", default: drift.enabled)
            drift.windowEvents = try driftSection.integer("window_events", default: drift.windowEvents, range: 100...1_000_000_000, unit: "events")
            drift.warmupEvents = try driftSection.integer("warmup_events", default: drift.warmupEvents, range: 0...1_000_000_000, unit: "events")
            drift.cooldownEvents = try driftSection.integer("cooldown_events", default: drift.cooldownEvents, range: 0...1_000_000_000, unit: "events")
            drift.exposureJSThreshold = try driftSection.number("exposure_js_threshold", default: drift.exposureJSThreshold, range: 0...1)
            drift.exposurePSIThreshold = try driftSection.number("exposure_psi_threshold", default: drift.exposurePSIThreshold, range: 0...1_000)
            drift.clickJSThreshold = try driftSection.number("click_js_threshold", default: drift.clickJSThreshold, range: 0...1)
            drift.clickPSIThreshold = try driftSection.number("click_psi_threshold", default: drift.clickPSIThreshold, range: 0...1_000)
            drift.newItemShareThreshold = try driftSection.number("new_item_share_threshold", default: drift.newItemShareThreshold, range: 0...1)
            drift.psiBins = try driftSection.integer("psi_bins", default: drift.psiBins, range: 2...1_000)
            drift.pageHinkleyDelta = try driftSection.number("page_hinkley_delta", default: drift.pageHinkleyDelta, range: 0...1)
            drift.pageHinkleyLambda = try driftSection.number("page_hinkley_lambda", default: drift.pageHinkleyLambda, range: 0.001...1e9)
            drift.adwinDelta = try driftSection.number("adwin_delta", default: drift.adwinDelta, range: 1e-12...0.5)
            drift.minimumHitSamples = try driftSection.integer("min_hit_samples", default: drift.minimumHitSamples, range: 1...100_000_000)
            drift.pageHinkleyHorizon = try driftSection.integer("page_hinkley_horizon", default: drift.pageHinkleyHorizon, range: 1...1_000_000_000, unit: "clicks")
            drift.minimumHitRateFall = try driftSection.number("min_hit_rate_fall", default: drift.minimumHitRateFall, range: 0...1)
            drift.minimumWindowClicks = try driftSection.integer("min_window_clicks", default: drift.minimumWindowClicks, range: 1...1_000_000_000, unit: "clicks")
        }

        try document.section("retention") { retentionSection in
            var retention = recommender.retention
            retention.userAdmitAfter = try retentionSection.integer("user_admit_after", default: retention.userAdmitAfter, range: 1...1_000_000, unit: "events")
            retention.itemAdmitAfter = try retentionSection.integer("item_admit_after", default: retention.itemAdmitAfter, range: 1...1_000_000, unit: "events")
            retention.userIdleSeconds = try retentionSection.number("user_idle_seconds", default: retention.userIdleSeconds, range: 0...1e10, unit: "seconds")
            retention.itemIdleSeconds = try retentionSection.number("item_idle_seconds", default: retention.itemIdleSeconds, range: 0...1e10, unit: "seconds")
            retention.admissionMemorySeconds = try retentionSection.number("admission_memory_seconds", default: retention.admissionMemorySeconds,
                                                                           range: 1...1e10, unit: "seconds")
            retention.sweepEvery = try retentionSection.integer("sweep_every", default: retention.sweepEvery, range: 1...1_000_000_000, unit: "events")
            retention.maxUsers = try retentionSection.integer("max_users", default: retention.maxUsers, range: 0...100_000_000, unit: "rows")
            retention.maxItems = try retentionSection.integer("max_items", default: retention.maxItems, range: 0...100_000_000, unit: "rows")
            recommender.retention = retention
        }

        if scaleOut.enabled {
            // Users are written to the changelog at checkpoints, and instances must start an
            // item alike to share it.
            guard checkpoint.enabled else {
                throw ConfigurationError(path: "checkpoint.enabled", reason: "must be true with scale_out.enabled (the users' changelog is written at every checkpoint)")
            }
            guard recommender.model.itemInitialization == .id else {
                throw ConfigurationError(path: "model.item_init", reason: "must be id with scale_out.enabled (instances must start each item alike)")
            }
            // Items are shared: an item one instance dropped or had not admitted yet would
            // miss the others' changes.
            guard recommender.retention.itemIdleSeconds == 0 else {
                throw ConfigurationError(path: "retention.item_idle_seconds", reason: "must be 0 with scale_out.enabled (instances share every item)")
            }
            guard recommender.retention.itemAdmitAfter == 1 else {
                throw ConfigurationError(path: "retention.item_admit_after", reason: "must be 1 with scale_out.enabled (instances share every item)")
            }
            guard deltasTopic != changelogTopic && deltasTopic != topics.events else {
                throw ConfigurationError(path: "scale_out.deltas_topic", reason: "must differ from the changelog and events topics")
            }
            guard ![changelogTopic, deltasTopic, topics.events].contains(snapshotsTopic) else {
                throw ConfigurationError(path: "scale_out.snapshots_topic", reason: "must differ from the changelog, deltas and events topics")
            }
            recommender.sharesItems = true
        }

        try document.section("http") { httpSection in
            http.enabled = try httpSection.boolean("enabled", default: http.enabled)
            let listen = try httpSection.string("listen", default: "\(http.host):\(http.port)")
            let parts = listen.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count == 2, !parts[0].isEmpty, let port = Int(parts[1]), (0...65_535).contains(port) else {
                throw ConfigurationError(path: "http.listen", reason: "'\(listen)' is not host:port (port 0 picks a free one)")
            }
            http.host = String(parts[0])
            http.port = port
            http.maxConnections = try httpSection.integer("max_connections", default: http.maxConnections, range: 1...100_000)
            http.maxConnectionsPerPeer = try httpSection.integer("max_connections_per_peer", default: http.maxConnectionsPerPeer, range: 1...100_000)
            http.requestTimeoutSeconds = try httpSection.number("request_timeout_seconds", default: http.requestTimeoutSeconds, range: 0.1...3_600,
                                                                unit: "seconds")
            http.idleTimeoutSeconds = try httpSection.number("idle_timeout_seconds", default: http.idleTimeoutSeconds, range: 0.1...86_400, unit: "seconds")
            http.maxRequestBytes = try httpSection.integer("max_request_bytes", default: http.maxRequestBytes, range: 256...16_777_216, unit: "bytes")
        }
    }

    /// host:port,host:port → the bootstrap string (for command-line options).
    public static func parseBrokerList(_ text: String) throws -> String {
        switch try parseBrokers([text], path: "--brokers") {
        case .embedded: throw ConfigurationError(path: "--brokers", reason: "'embedded' is not available here; give host:port")
        case let .servers(list): return list.joined(separator: ",")
        }
    }

    static func parseBrokers(_ list: [String], path: String) throws -> Brokers {
        let entries = list.flatMap { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }.filter { !$0.isEmpty }
        if entries == ["embedded"] { return .embedded }
        guard !entries.isEmpty else { throw ConfigurationError(path: path, reason: "must name 'embedded' or at least one host:port") }
        for entry in entries {
            let parts = entry.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count == 2, !parts[0].isEmpty, let port = Int(parts[1]), (1...65_535).contains(port) else {
                throw ConfigurationError(path: path, reason: "'\(entry)' is not host:port (or 'embedded')")
            }
        }
        return .servers(entries)
    }

    mutating func applyOverrides(_ environment: [String: String]) throws {
        if let value = environment[Environment.brokers], !value.isEmpty {
            brokers = try Self.parseBrokers([value], path: "$\(Environment.brokers)")
        }
        if let value = environment[Environment.groupID], !value.isEmpty {
            groupID = value
        }
    }

    /// The pass-through map must be valid librdkafka settings.
    private func validateKafkaProperties() throws {
        do {
            try KafkaConfigurationCheck.validate(kafka)
        } catch let error as KafkaError {
            let key = kafka.keys.sorted().first { error.message.contains("'\($0)'") } ?? ""
            throw ConfigurationError(path: key.isEmpty ? "kafka" : "kafka.\(key)", reason: error.message)
        }
    }
}
