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

    public init(maxMessages: Int? = nil, idleExit: Duration? = nil) {
        self.maxMessages = maxMessages
        self.idleExit = idleExit
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

/// The blocking event loop: consume a batch, process it, commit at intervals, report progress,
/// and on stop commit and leave the group cleanly. Runs on a dedicated thread.
final class ProcessingLoop: Sendable {
    private let configuration: PipelineConfiguration
    private let bootstrapServers: String
    private let options: RunOptions
    private let counters: ProcessingCounters
    private let logger: Logger

    init(configuration: PipelineConfiguration, bootstrapServers: String, options: RunOptions,
         counters: ProcessingCounters, logger: Logger)
    {
        self.configuration = configuration
        self.bootstrapServers = bootstrapServers
        self.options = options
        self.counters = counters
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
        let producer = try KafkaProducer(configuration: producerConfiguration, logger: logger)

        var consumerConfiguration = KafkaConsumerConfiguration(bootstrapServers: bootstrapServers, groupID: configuration.groupID)
        consumerConfiguration.properties = configuration.kafka.filter { !ProcessingLoop.producerOnlyProperties.contains($0.key) }
        consumerConfiguration.clientID = "causalrec-\(configuration.groupID)"
        // The typed defaults yield to the file's kafka: map for the group timing settings.
        if let value = configuration.kafka["session.timeout.ms"].flatMap(Int.init) { consumerConfiguration.sessionTimeoutMilliseconds = value }
        if let value = configuration.kafka["heartbeat.interval.ms"].flatMap(Int.init) { consumerConfiguration.heartbeatIntervalMilliseconds = value }
        if let value = configuration.kafka["max.poll.interval.ms"].flatMap(Int.init) { consumerConfiguration.maxPollIntervalMilliseconds = value }
        if let value = configuration.kafka["auto.offset.reset"] { consumerConfiguration.autoOffsetReset = value }
        let consumer = try KafkaConsumer(configuration: consumerConfiguration, logger: logger, maxBatchSize: configuration.consumer.batchSize)

        let recommender = OnlineRecommender(configuration: configuration.recommender)
        let processor = StreamProcessor(
            recommender: recommender,
            decoder: EventDecoder(limits: configuration.events),
            deadLetters: DeadLetterRouter(producer: producer, topic: configuration.topics.deadLetter),
            publisher: RecommendationPublisher(producer: producer, topic: configuration.topics.recommendations,
                                               samplerName: recommender.samplerName, policy: configuration.publishing),
            producer: producer, consumer: consumer, counters: counters, maxMessages: options.maxMessages,
            flushTimeout: .milliseconds(configuration.producer.flushTimeoutMilliseconds), logger: logger)

        try consumer.subscribe(topics: [configuration.topics.events])
        logger.info("consuming", metadata: ["topic": "\(configuration.topics.events)", "group": "\(configuration.groupID)",
                                             "brokers": "\(bootstrapServers)", "sampler": "\(recommender.samplerName)"])

        var progress = ProgressReporter(interval: .seconds(configuration.progress.intervalSeconds), start: started)
        var lastCommit = started
        var lastMessage = started
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
                if now - lastCommit >= commitInterval {
                    try processor.commit()
                    lastCommit = now
                }
                if progress.isDue(now) {
                    progress.report(now: now, counters: counters, lag: processor.lag(), evaluator: recommender.evaluator,
                                    logger: logger)
                }
            }
            loopEnded = clock.now
            logger.info("stopping", metadata: ["reason": "\(reason.rawValue)"])
            try processor.commit()
            try consumer.close(handler: processor)
            try producer.close(timeout: .milliseconds(configuration.producer.flushTimeoutMilliseconds))
        } catch {
            // Leave without committing what was not delivered; a restart re-reads it.
            logger.error("event loop failed: \(error)")
            try? consumer.close()
            try? producer.close(timeout: .seconds(5))
            throw error
        }
        progress.report(now: clock.now, counters: counters, lag: 0, evaluator: recommender.evaluator, logger: logger)
        let processing = firstMessage.map { (loopEnded ?? clock.now) - $0 } ?? .zero
        return ProcessingOutcome(reason: reason, messages: counters.messages.load(ordering: .relaxed),
                                 appliedEvents: recommender.applied.total,
                                 deadLettered: counters.deadLettered.load(ordering: .relaxed),
                                 recommendationsPublished: counters.recommendationsPublished.load(ordering: .relaxed),
                                 modelVersion: recommender.modelVersion, evaluator: recommender.evaluator,
                                 elapsed: clock.now - started,
                                 processingSeconds: Double(processing.components.seconds) + Double(processing.components.attoseconds) / 1e18)
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
