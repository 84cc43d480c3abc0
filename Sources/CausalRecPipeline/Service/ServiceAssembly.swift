import CausalRecCore
import Kafka
import Logging

/// The wired parts of one run of the service: the Kafka clients, the output sender, the stream
/// processor, the checkpointer and the consumer handler that orders them. Built once per run,
/// before the first poll.
struct ServiceAssembly {
    let producer: any OutputProducer
    let consumer: any EventPoller
    let sender: OutputSender
    let health: BrokerHealth
    let processor: MessageProcessor
    let checkpointer: Checkpointer?
    let handler: ConsumerCallbacks
    private let options: RunOptions
    private let logger: Logger

    /// Parts already made (tests wire in-memory clients this way).
    init(producer: any OutputProducer, consumer: any EventPoller, sender: OutputSender, health: BrokerHealth, processor: MessageProcessor,
         checkpointer: Checkpointer?, handler: ConsumerCallbacks, options: RunOptions, logger: Logger)
    {
        self.producer = producer
        self.consumer = consumer
        self.sender = sender
        self.health = health
        self.processor = processor
        self.checkpointer = checkpointer
        self.handler = handler
        self.options = options
        self.logger = logger
    }

    /// The service's own parts: Kafka clients from the configuration.
    init(configuration: PipelineConfiguration, bootstrapServers: String, options: RunOptions, counters: ProcessingCounters,
         metrics: ServiceMetrics, status: ServiceStatus, live: LiveState, logger: Logger) throws
    {
        self.options = options
        self.logger = logger
        let topics = configuration.topics
        let outputMetrics = OutputMetrics(factory: metrics.factory)
        let producer = try KafkaProducer(configuration: KafkaClients.producerConfiguration(configuration, bootstrapServers: bootstrapServers),
                                     logger: logger) { report in
            guard report.isDelivered else { return }
            if let latency = report.latency { metrics.publishLatency.record(latency) }
            let kind: OutputKind = switch report.topicPartition.topic {
            case topics.deadLetter: .deadLetter
            case topics.alerts: .alerts
            default: .recommendations
            }
            outputMetrics.delivered[kind]?.increment()
        }
        self.producer = producer
        let consumer = try KafkaConsumer(configuration: KafkaClients.consumerConfiguration(configuration, bootstrapServers: bootstrapServers),
                                         logger: logger, maxBatchSize: configuration.consumer.batchSize)
        self.consumer = consumer
        sender = OutputSender(producer: producer, topics: topics,
                              deadLetterLimits: DeadLetterRecord.Limits(maxPayloadBytes: configuration.deadLetter.maxPayloadBytes,
                                                                        prefixBytes: configuration.deadLetter.prefixBytes),
                              metrics: metrics, outputMetrics: outputMetrics, logger: logger)
        health = BrokerHealth(status: status, metrics: metrics, logger: logger)
        let samplerName = live.withExclusiveAccess { $0.recommender.samplerName }
        let scaleOut = configuration.scaleOut.enabled
            ? try ScaleOutSetup.parts(configuration, bootstrapServers: bootstrapServers,
                                      checkpointDirectory: options.checkpointDirectory ?? configuration.checkpoint.directory,
                                      consumer: consumer, logger: logger)
            : nil
        let (ownership, itemSync) = (scaleOut?.0, scaleOut?.1)
        ownership?.metrics = metrics.scaleOut
        itemSync?.metrics = metrics.scaleOut
        processor = MessageProcessor(live: live, samplerName: samplerName, decoder: EventDecoder(limits: configuration.events), sender: sender,
                                    topics: topics, committer: consumer, health: health, counters: counters, metrics: metrics,
                                    maxMessages: options.maxMessages, logger: logger, ownership: ownership, itemSync: itemSync)
        checkpointer = try Self.makeCheckpointer(configuration, bootstrapServers: bootstrapServers, options: options, consumer: consumer,
                                                 status: status, metrics: metrics, logger: logger)
        // A checkpoint must not stall polling for long (the group would evict us).
        handler = ConsumerCallbacks(processor: processor, checkpointer: checkpointer, counters: counters, health: health,
                                        status: status, checkpointFlushTimeout: min(.milliseconds(configuration.producer.flushTimeoutMilliseconds), .seconds(5)),
                                        logger: logger)
    }

    /// Restores the newest checkpoint (unless `--fresh-state`); a checkpoint that exists but
    /// cannot be used stops start-up as a configuration error naming the file.
    func restore() throws {
        guard let checkpointer else { return }
        if options.freshState {
            logger.notice("--fresh-state: starting with an empty state (lineage \(checkpointer.store.lineage)) at the group's committed offsets; the checkpoints already in \(checkpointer.store.directory) are kept")
            return
        }
        do {
            if try checkpointer.restore(into: processor) == nil {
                logger.info("no checkpoint to restore in \(checkpointer.store.directory): starting with an empty state at the group's committed offsets")
            }
        } catch let refusal as CheckpointStore.RestoreRefusal {
            try? consumer.close(handler: nil)
            try? producer.close(timeout: .seconds(5))
            throw ConfigurationError(path: options.checkpointDirectory == nil ? "checkpoint.directory" : "--checkpoint-dir",
                                     reason: "\(refusal); fix the configuration, or start with --fresh-state to begin a new state beside it (the file is kept)")
        }
    }

    private static func makeCheckpointer(_ configuration: PipelineConfiguration, bootstrapServers: String, options: RunOptions,
                                         consumer: KafkaConsumer, status: ServiceStatus, metrics: ServiceMetrics,
                                         logger: Logger) throws -> Checkpointer?
    {
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
}
