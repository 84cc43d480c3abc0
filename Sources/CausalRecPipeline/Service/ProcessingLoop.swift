import CausalRecCore
import Foundation
import Kafka
import Logging
import Synchronization

/// Options of one `run` that are not part of the configuration file.
public struct RunOptions: Sendable {
    /// Stop cleanly after handling this many input messages.
    public var maxMessages: Int?
    /// Stop cleanly after this long without a new message, counted from the first assignment.
    public var idleExit: Duration?
    /// Overrides `checkpoint.directory`.
    public var checkpointDirectory: String?
    /// Start with an empty state even when the checkpoint directory holds one this run cannot
    /// use (it is kept; nothing of another lineage is deleted).
    public var freshState: Bool

    public init(maxMessages: Int? = nil, idleExit: Duration? = nil, checkpointDirectory: String? = nil, freshState: Bool = false) {
        self.maxMessages = maxMessages
        self.idleExit = idleExit
        self.checkpointDirectory = checkpointDirectory
        self.freshState = freshState
    }
}

/// What a finished run did, for summaries.
public struct ProcessingOutcome: Sendable {
    public enum StopReason: String, Sendable {
        case shutdownRequested = "shutdown requested"
        case maxEvents = "max events reached"
        case idle = "idle"
    }

    public var reason: StopReason
    public var messages: Int
    public var appliedEvents: Int
    public var deadLettered: Int
    public var recommendationsPublished: Int
    public var modelVersion: Int64
    /// Prequential hit-rates per window of evaluated clicks.
    public var evaluator: PrequentialEvaluator
    public var elapsed: Duration
    /// Seconds from the first handled message to the end of the loop (excludes joining and
    /// leaving the group).
    public var processingSeconds: Double
}

/// The blocking event loop: restore the newest checkpoint, consume a batch, process it,
/// checkpoint (or commit) at intervals, report progress, and on stop write a last checkpoint,
/// commit and leave the group cleanly. Runs on a dedicated thread.
final class ProcessingLoop: Sendable {
    private let configuration: PipelineConfiguration
    private let bootstrapServers: String
    private let options: RunOptions
    private let counters: ProcessingCounters
    private let metrics: ServiceMetrics
    private let status: ServiceStatus
    private let live: LiveState
    private let logger: Logger

    init(configuration: PipelineConfiguration, bootstrapServers: String, options: RunOptions, counters: ProcessingCounters,
         metrics: ServiceMetrics, status: ServiceStatus, live: LiveState, logger: Logger)
    {
        self.configuration = configuration
        self.bootstrapServers = bootstrapServers
        self.options = options
        self.counters = counters
        self.metrics = metrics
        self.status = status
        self.live = live
        self.logger = logger
    }

    func run(stop: borrowing Atomic<Bool>) throws -> ProcessingOutcome {
        let clock = ContinuousClock()
        let started = clock.now
        var producerConfiguration = KafkaProducerConfiguration(bootstrapServers: bootstrapServers)
        producerConfiguration.properties = configuration.kafka.filter { !ProcessingLoop.consumerOnlyProperties.contains($0.key) }
        producerConfiguration.lingerMilliseconds = configuration.producer.lingerMilliseconds
        producerConfiguration.deliveryTimeoutMilliseconds = configuration.producer.deliveryTimeoutMilliseconds
        producerConfiguration.queueFullDeadline = .milliseconds(configuration.producer.queueFullTimeoutMilliseconds)
        producerConfiguration.clientID = "causalrec-\(configuration.groupID)"
        let metrics = self.metrics
        let topics = configuration.topics
        let producer = try KafkaProducer(configuration: producerConfiguration, logger: logger) { report in
            guard report.isDelivered else { return }
            if let latency = report.latency {
                metrics.publishLatency.recordNanoseconds(Checkpointer.nanoseconds(latency))
            }
            let kind: OutputKind = switch report.topicPartition.topic {
            case topics.deadLetter: .deadLetter
            case topics.alerts: .alerts
            default: .recommendations
            }
            metrics.outputsDelivered[kind]?.increment()
        }
        let sender = OutputSender(producer: producer, topics: topics,
                                  deadLetterLimits: DeadLetterRecord.Limits(maxPayloadBytes: configuration.deadLetter.maxPayloadBytes,
                                                                            prefixBytes: configuration.deadLetter.prefixBytes),
                                  metrics: metrics, logger: logger)

        var consumerConfiguration = KafkaConsumerConfiguration(bootstrapServers: bootstrapServers, groupID: configuration.groupID)
        consumerConfiguration.properties = configuration.kafka.filter { !ProcessingLoop.producerOnlyProperties.contains($0.key) }
        consumerConfiguration.clientID = "causalrec-\(configuration.groupID)"
        // The typed defaults yield to the file's kafka: map for the group timing settings.
        if let value = configuration.kafka["session.timeout.ms"].flatMap(Int.init) { consumerConfiguration.sessionTimeoutMilliseconds = value }
        if let value = configuration.kafka["heartbeat.interval.ms"].flatMap(Int.init) { consumerConfiguration.heartbeatIntervalMilliseconds = value }
        if let value = configuration.kafka["max.poll.interval.ms"].flatMap(Int.init) { consumerConfiguration.maxPollIntervalMilliseconds = value }
        if let value = configuration.kafka["auto.offset.reset"] { consumerConfiguration.autoOffsetReset = value }
        let consumer = try KafkaConsumer(configuration: consumerConfiguration, logger: logger, maxBatchSize: configuration.consumer.batchSize)

        let drift = configuration.drift.enabled ? DriftMonitor(configuration: configuration.drift) : nil
        let samplerName = live.withExclusiveAccess { $0.samplerName }
        let processor = StreamProcessor(
            live: live, samplerName: samplerName,
            decoder: EventDecoder(limits: configuration.events),
            deadLetters: DeadLetterRouter(sender: sender, topic: configuration.topics.deadLetter),
            publisher: RecommendationPublisher(sender: sender, topic: configuration.topics.recommendations,
                                               samplerName: samplerName, policy: configuration.publishing),
            sender: sender, consumer: consumer, drift: drift,
            alerts: AlertPublisher(sender: sender, topic: configuration.topics.alerts),
            counters: counters, metrics: metrics, status: status, maxMessages: options.maxMessages, logger: logger)

        let checkpointer = try makeCheckpointer(consumer: consumer)
        if let checkpointer {
            if options.freshState {
                logger.notice("--fresh-state: starting with an empty state (lineage \(checkpointer.store.lineage)) at the group's committed offsets; the checkpoints already in \(checkpointer.store.directory) are kept")
            } else {
                do {
                    if try checkpointer.restore(into: processor) == nil {
                        logger.info("no checkpoint to restore in \(checkpointer.store.directory): starting with an empty state at the group's committed offsets")
                    }
                } catch let refusal as CheckpointStore.RestoreRefusal {
                    try? consumer.close()
                    try? producer.close(timeout: .seconds(5))
                    throw ConfigurationError(path: options.checkpointDirectory == nil ? "checkpoint.directory" : "--checkpoint-dir",
                                             reason: "\(refusal); fix the configuration, or start with --fresh-state to begin a new state beside it (the file is kept)")
                }
            }
        }
        let flushTimeout = Duration.milliseconds(configuration.producer.flushTimeoutMilliseconds)
        // A periodic checkpoint must not stall polling for long (the group would evict us).
        let periodicFlushTimeout = min(flushTimeout, .seconds(5))
        if let checkpointer {
            processor.beforeRevoke = { [logger, counters] _ in
                guard checkpointer.hasPendingMessages(counters.messages.load(ordering: .relaxed)) else { return }
                do {
                    try checkpointer.write(processor, sender: sender, messages: counters.messages.load(ordering: .relaxed),
                                           flushTimeout: periodicFlushTimeout)
                } catch {
                    logger.error("checkpoint before revoke failed: \(error)")
                }
            }
        }

        // The hook captures the processor: break the cycle when the loop ends.
        defer { processor.beforeRevoke = nil }

        try consumer.subscribe(topics: [configuration.topics.events])
        logger.info("consuming", metadata: ["topic": "\(configuration.topics.events)", "group": "\(configuration.groupID)",
                                             "brokers": "\(bootstrapServers)", "sampler": "\(samplerName)",
                                             "checkpoints": "\(checkpointer.map { $0.store.directory } ?? "off")"])

        var progress = ProgressReporter(interval: .seconds(configuration.progress.intervalSeconds), start: started)
        var lastCommit = started
        var lastMessage = started
        var lastGauges = started
        var lastProbe = started
        var commitRetryAt = started
        let commitInterval = Duration.milliseconds(configuration.consumer.commitIntervalMilliseconds)
        let pollTimeout = Duration.milliseconds(configuration.consumer.pollTimeoutMilliseconds)
        var reason = ProcessingOutcome.StopReason.shutdownRequested
        var firstMessage: ContinuousClock.Instant?
        var loopEnded: ContinuousClock.Instant?

        do {
            while !stop.load(ordering: .acquiring) {
                let handled = try consumer.poll(timeout: pollTimeout, handler: processor)
                let now = clock.now
                if handled > 0 {
                    lastMessage = now
                    if firstMessage == nil { firstMessage = now }
                }
                if processor.budgetExhausted {
                    reason = .maxEvents
                    break
                }
                if let idle = options.idleExit, let assigned = processor.firstAssignment,
                   now - max(lastMessage, assigned) >= idle
                {
                    reason = .idle
                    break
                }
                let messages = counters.messages.load(ordering: .relaxed)
                if let checkpointer {
                    checkpointer.noteMessages(messages)
                    if checkpointer.isDue(now: now, messages: messages) {
                        try checkpointer.write(processor, sender: sender, messages: messages, flushTimeout: periodicFlushTimeout)
                    }
                } else if now - lastCommit >= commitInterval && now >= commitRetryAt {
                    do {
                        try processor.commit(flushTimeout: periodicFlushTimeout)
                        lastCommit = now
                    } catch let error as KafkaError where error.kind == .flushTimedOut {
                        logger.warning("commit postponed: \(error.message)")
                        commitRetryAt = now + .seconds(5)
                    }
                }
                // librdkafka does not always report a broker that went away (an idle connection
                // is closed quietly, a lost group is only a revoke), so a quiet consumer asks.
                let quiet = now - max(lastMessage, lastProbe) >= .seconds(3)
                if (!status.snapshot.brokerReachable || quiet) && now - lastProbe >= .seconds(2) {
                    lastProbe = now
                    probeBroker(consumer: consumer, processor: processor)
                }
                if now - lastGauges >= .milliseconds(500) {
                    lastGauges = now
                    updateGauges(processor: processor, checkpointer: checkpointer)
                }
                if progress.isDue(now) {
                    let evaluator = live.withExclusiveAccess { $0.evaluator }
                    progress.report(now: now, counters: counters, lag: processor.lag(), evaluator: evaluator, logger: logger)
                }
            }
            loopEnded = clock.now
            status.update { $0.stopping = true }
            logger.info("stopping", metadata: ["reason": "\(reason.rawValue)"])
            let messages = counters.messages.load(ordering: .relaxed)
            if let checkpointer {
                if checkpointer.hasPendingMessages(messages) {
                    if !(try checkpointer.write(processor, sender: sender, messages: messages, flushTimeout: flushTimeout)) {
                        logger.error("the final checkpoint could not be written; a restart resumes from the previous one and re-applies the events after it")
                    }
                }
            } else {
                try processor.commit(flushTimeout: flushTimeout)
            }
            try consumer.close(handler: processor)
            try sender.flush(timeout: flushTimeout)
            try producer.close(timeout: flushTimeout)
        } catch {
            // Leave without committing what was not delivered; a restart re-reads it.
            logger.error("event loop failed: \(error)")
            try? consumer.close()
            try? producer.close(timeout: .seconds(5))
            throw error
        }
        updateGauges(processor: processor, checkpointer: checkpointer)
        let (evaluator, applied, modelVersion) = live.withExclusiveAccess { ($0.evaluator, $0.applied.total, $0.modelVersion) }
        progress.report(now: clock.now, counters: counters, lag: 0, evaluator: evaluator, logger: logger)
        let processing = firstMessage.map { (loopEnded ?? clock.now) - $0 } ?? .zero
        return ProcessingOutcome(reason: reason, messages: counters.messages.load(ordering: .relaxed),
                                 appliedEvents: applied,
                                 deadLettered: counters.deadLettered.load(ordering: .relaxed),
                                 recommendationsPublished: counters.recommendationsPublished.load(ordering: .relaxed),
                                 modelVersion: modelVersion, evaluator: evaluator,
                                 elapsed: clock.now - started,
                                 processingSeconds: Double(processing.components.seconds) + Double(processing.components.attoseconds) / 1e18)
    }

    private func makeCheckpointer(consumer: KafkaConsumer) throws -> Checkpointer? {
        guard configuration.checkpoint.enabled else { return nil }
        let directory = options.checkpointDirectory ?? configuration.checkpoint.directory
        let store: CheckpointStore
        do {
            store = try CheckpointStore(directory: directory, keep: configuration.checkpoint.keep, logger: logger)
        } catch {
            throw ConfigurationError(path: options.checkpointDirectory == nil ? "checkpoint.directory" : "--checkpoint-dir",
                                     reason: "\(error)")
        }
        let identity = CheckpointIdentity(
            brokers: bootstrapServers.split(separator: ",").map(String.init),
            clusterID: consumer.clusterID(timeout: .seconds(5)),
            topic: configuration.topics.events, group: configuration.groupID)
        return Checkpointer(store: store, identity: identity, policy: configuration.checkpoint, status: status,
                            metrics: metrics, logger: logger)
    }

    /// A cheap metadata request: tells when an unreachable broker is back, or that a quiet one is gone.
    private func probeBroker(consumer: KafkaConsumer, processor: StreamProcessor) {
        do {
            _ = try consumer.topicMetadata(configuration.topics.events, timeout: .seconds(1))
            processor.markBrokerReachable()
        } catch {
            processor.markBrokerUnreachable("metadata request failed: \(error)")
        }
    }

    private func updateGauges(processor: StreamProcessor, checkpointer: Checkpointer?) {
        let (modelVersion, denoiserVersion) = live.withExclusiveAccess { ($0.modelVersion, $0.generatorVersion) }
        metrics.modelVersion.record(Double(modelVersion))
        metrics.denoiserVersion.record(Double(denoiserVersion))
        metrics.lag.record(Double(processor.lag()))
        if let age = checkpointer?.ageSeconds() { metrics.checkpointAge.record(age) }
    }

    /// librdkafka warns about (or rejects) consumer settings on a producer and vice versa.
    static let consumerOnlyProperties: Set<String> = [
        "session.timeout.ms", "heartbeat.interval.ms", "max.poll.interval.ms", "auto.offset.reset",
        "group.id", "group.instance.id", "partition.assignment.strategy", "enable.auto.commit",
        "enable.auto.offset.store", "fetch.min.bytes", "fetch.max.bytes", "fetch.wait.max.ms",
        "max.partition.fetch.bytes", "queued.min.messages", "queued.max.messages.kbytes",
        "isolation.level", "enable.partition.eof", "check.crcs", "group.protocol",
    ]
    static let producerOnlyProperties: Set<String> = [
        "linger.ms", "queue.buffering.max.ms", "queue.buffering.max.messages", "queue.buffering.max.kbytes",
        "batch.num.messages", "batch.size", "compression.type", "compression.codec", "enable.idempotence",
        "acks", "request.required.acks", "message.timeout.ms", "delivery.timeout.ms", "retries",
        "message.send.max.retries", "transactional.id", "partitioner",
    ]
}
