import CausalRecCore
import Foundation
import Kafka
import Logging
import ServiceLifecycle
import Synchronization

/// `causalrec demo` (what `make run` runs): the embedded mock cluster, the simulator producing a
/// paced stream with a few malformed messages, and the real service consuming it — all in one
/// process, ending after a bounded number of events with a summary.
public struct DemoRunner: Sendable {
    public struct Options: Sendable {
        public var events = 200_000
        public var eventsPerSecond = 2_000.0
        /// One malformed message after every this many events.
        public var malformedEvery = 2_000
        public var simulator = SimulatorConfiguration()
        public var configuration = PipelineConfiguration()

        public init() {
            // The demo's stream is fast-forwarded event time (100 ms apart); an hour's half-life
            // would cover the whole demo, so exposure forgets faster here.
            configuration.recommender.exposure.halfLifeMilliseconds = 600_000
            // The demo's catalogue is small, so every click can be evaluated.
            configuration.recommender.evaluateEveryNthClick = 1
        }
    }

    public struct Summary: Sendable {
        public var eventsProduced: Int
        public var messagesProduced: Int
        package var outcome: ProcessingOutcome
        /// Hit-rate@K over the last fifth of the stream (model vs. most-popular, same clicks).
        public var lastFifth: HitRateWindow
        public var hitRateK: Int
        /// Requests answered in the second half of the stream, and the mean true click
        /// probability of the published lists vs. the most-popular lists for the same requests.
        public var scoredRequests: Int
        public var modelTruth: Double
        public var popularTruth: Double
        public var recommendationsRead: Int
        public var seconds: Double

        public var line: String {
            func f(_ value: Double, _ digits: Int = 3) -> String { String(format: "%.\(digits)f", value) }
            let ratio = lastFifth.popularHitRate > 0 ? lastFifth.modelHitRate / lastFifth.popularHitRate : 0
            return "demo summary: events=\(eventsProduced) messages=\(messagesProduced) consumed=\(outcome.messages) "
                + "dlq=\(outcome.deadLettered) recommendations=\(outcome.recommendationsPublished) model_version=\(outcome.modelVersion) | "
                + "hit-rate@\(hitRateK) last fifth: model \(f(lastFifth.modelHitRate)) vs most-popular \(f(lastFifth.popularHitRate)) "
                + "(\(f(ratio, 2))x, \(lastFifth.evaluated) clicks) | true click-probability of published top-\(hitRateK) "
                + "(second half, \(scoredRequests) requests): model \(f(modelTruth, 4)) vs most-popular \(f(popularTruth, 4)) | \(f(seconds, 1)) s"
        }
    }

    public let options: Options
    public let logger: Logger

    public init(options: Options, logger: Logger) {
        self.options = options
        self.logger = logger
    }

    public func run() async throws -> Summary {
        let started = ContinuousClock().now
        var configuration = options.configuration
        configuration.brokers = .embedded
        // The embedded cluster's topics die with the process: nothing to resume from.
        configuration.checkpoint.enabled = false
        let cluster = try KafkaClusterConnection(.embedded, logger: logger)
        try cluster.ensureTopics(configuration.topics)

        let malformed = options.malformedEvery > 0 ? options.events / options.malformedEvery : 0
        let totalMessages = options.events + malformed
        let service = RecommenderService(configuration: configuration, bootstrapServers: cluster.bootstrapServers,
                                             options: RunOptions(maxMessages: totalMessages, idleExit: .seconds(60)),
                                             logger: logger)
        let tracker = DemoTruthTracker(simulatorConfiguration: options.simulator, k: configuration.recommender.evaluationK)
        let simulatorService = SimulatorService(options: options, topic: configuration.topics.events,
                                                bootstrapServers: cluster.bootstrapServers, tracker: tracker,
                                                counters: service.counters, logger: logger)
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(
            services: [
                .init(service: simulatorService, successTerminationBehavior: .ignore),
                .init(service: service, successTerminationBehavior: .gracefullyShutdownGroup),
            ],
            logger: logger))
        try ShutdownSignals.install(logger: logger) { _ in
            Task { await group.triggerGracefulShutdown() }
        }
        try await group.run()
        guard let outcome = service.outcome else {
            throw KafkaError(kind: .closed, message: "the service stopped without an outcome")
        }

        let topics = configuration.topics
        let logger = self.logger
        let published = try await DedicatedThread.run(name: "demo-read-recommendations") {
            try DemoRunner.readRecommendations(bootstrapServers: cluster.bootstrapServers, topic: topics.recommendations,
                                               partitions: topics.partitions, logger: logger)
        }
        var modelTruth = 0.0, popularTruth = 0.0, scored = 0
        let secondHalf = tracker.eventsSeen / 2
        for message in published {
            guard let record = tracker.requests[DemoTruthTracker.key(user: message.user, timestamp: message.timestamp)],
                  record.eventIndex >= secondHalf, let user = ClickSimulator.index(of: message.user) else { continue }
            modelTruth += tracker.meanTruth(user: user, items: message.items.compactMap(ClickSimulator.index(of:)))
            popularTruth += record.popularTruth
            scored += 1
        }
        let lastFifth = outcome.evaluator.summary(fromEvent: outcome.appliedEvents * 4 / 5)
        let elapsed = ContinuousClock().now - started
        return Summary(eventsProduced: simulatorService.eventsProduced, messagesProduced: simulatorService.messagesProduced,
                       outcome: outcome, lastFifth: lastFifth, hitRateK: configuration.recommender.evaluationK,
                       scoredRequests: scored, modelTruth: scored > 0 ? modelTruth / Double(scored) : 0,
                       popularTruth: scored > 0 ? popularTruth / Double(scored) : 0,
                       recommendationsRead: published.count,
                       seconds: elapsed.inSeconds)
    }

    struct PublishedList {
        var user: String
        var timestamp: Int64
        var items: [String]
    }

    /// Reads the whole recommendations topic with a group-less consumer.
    static func readRecommendations(bootstrapServers: String, topic: String, partitions: Int, logger: Logger) throws -> [PublishedList] {
        var configuration = KafkaConsumerConfiguration(bootstrapServers: bootstrapServers, groupID: nil)
        configuration.reportPartitionEnd = true
        let consumer = try KafkaConsumer(configuration: configuration, logger: logger)
        try consumer.assign((0..<partitions).map { KafkaTopicPartitionOffset(topic: topic, partition: Int32($0), offset: KafkaOffset.beginning) })
        final class Collector: KafkaConsumerHandler {
            var lists: [PublishedList] = []
            var ended = Set<Int32>()
            func consume(_ batch: KafkaMessageBatch) throws {
                for message in batch {
                    guard let object = try? JSONSerialization.jsonObject(with: Data(message.payload)) as? [String: Any],
                          let user = object["user"] as? String, let timestamp = (object["ts"] as? NSNumber)?.int64Value,
                          let items = object["items"] as? [[String: Any]] else { continue }
                    lists.append(PublishedList(user: user, timestamp: timestamp, items: items.compactMap { $0["item"] as? String }))
                }
            }
            func partitionReachedEnd(_ partition: KafkaTopicPartition, offset: Int64) {
                ended.insert(partition.partition)
            }
        }
        let collector = Collector()
        let deadline = ContinuousClock().now.advanced(by: .seconds(60))
        while collector.ended.count < partitions && ContinuousClock().now < deadline {
            try consumer.poll(timeout: .milliseconds(100), handler: collector)
        }
        try consumer.close()
        return collector.lists
    }
}

/// Produces the demo's simulator stream as a service of the demo's group, paced so the mock
/// cluster's small log never drops a message the service has not read.
final class SimulatorService: Service, @unchecked Sendable {
    private let options: DemoRunner.Options
    private let topic: String
    private let bootstrapServers: String
    private let tracker: DemoTruthTracker
    private let counters: ProcessingCounters
    private let logger: Logger
    private let stop = Atomic<Bool>(false)
    private let produced = Atomic<Int>(0)
    private let messages = Atomic<Int>(0)

    init(options: DemoRunner.Options, topic: String, bootstrapServers: String, tracker: DemoTruthTracker,
         counters: ProcessingCounters, logger: Logger)
    {
        self.options = options
        self.topic = topic
        self.bootstrapServers = bootstrapServers
        self.tracker = tracker
        self.counters = counters
        self.logger = logger
    }

    var eventsProduced: Int { produced.load(ordering: .relaxed) }
    var messagesProduced: Int { messages.load(ordering: .relaxed) }

    func run() async throws {
        try await withGracefulShutdownHandler {
            try await DedicatedThread.run(name: "demo-simulator") { [self] in
                try self.produce()
            }
        } onGracefulShutdown: { [self] in
            self.stop.store(true, ordering: .releasing)
        }
    }

    private func produce() throws {
        let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(bootstrapServers: bootstrapServers), logger: logger)
        defer { try? producer.close(timeout: .seconds(30)) }
        var simulator = ClickSimulator(configuration: options.simulator)
        let counters = self.counters
        let pacing = SimulatorPublisher.Pacing(eventsPerSecond: options.eventsPerSecond, maxLead: 20_000,
                                               consumed: { counters.messages.load(ordering: .relaxed) })
        logger.info("simulator producing", metadata: ["events": "\(options.events)", "rate": "\(Int(options.eventsPerSecond))/s"])
        let sent = try SimulatorPublisher(producer: producer, topic: topic).publish(
            count: options.events, from: &simulator, pacing: pacing,
            malformedEvery: options.malformedEvery > 0 ? options.malformedEvery : nil, includeOversize: true,
            shouldStop: { self.stop.load(ordering: .acquiring) },
            observe: { event in
                self.tracker.observe(event)
                self.produced.add(1, ordering: .relaxed)
            })
        messages.store(sent, ordering: .relaxed)
        logger.info("simulator done", metadata: ["messages": "\(sent)"])
    }
}
