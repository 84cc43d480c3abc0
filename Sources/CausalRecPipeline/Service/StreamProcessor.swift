import CausalRecCore
import Kafka
import Logging

/// Turns consumed messages into state changes and outputs, on the event-loop thread.
///
/// Per message: decode and validate; invalid → dead-letter topic; valid → the recommender
/// (which may answer a request) → recommendations topic. Offsets advance only for handled
/// messages, and are committed only after the producer has delivered everything sent so far, so
/// an output is never lost for an input that counts as done (at-least-once).
final class StreamProcessor: KafkaConsumerHandler {
    let recommender: OnlineRecommender
    let counters: ProcessingCounters
    private let decoder: EventDecoder
    private let deadLetters: DeadLetterRouter
    private let publisher: RecommendationPublisher
    private let producer: KafkaProducer
    private let consumer: KafkaConsumer
    private let flushTimeout: Duration
    private let logger: Logger
    private(set) var ledger = OffsetLedger()
    /// Messages this run may still handle (`--max-events`); nil = unlimited.
    private(set) var remainingBudget: Int?
    private(set) var firstAssignment: ContinuousClock.Instant?
    private(set) var assignedPartitions: Set<KafkaTopicPartition> = []
    /// Event time to use for an event without `ts` when the message has no timestamp either.
    private var lastTimestamp: Int64 = 0

    init(recommender: OnlineRecommender, decoder: EventDecoder, deadLetters: DeadLetterRouter,
         publisher: RecommendationPublisher, producer: KafkaProducer, consumer: KafkaConsumer,
         counters: ProcessingCounters, maxMessages: Int?, flushTimeout: Duration, logger: Logger)
    {
        self.recommender = recommender
        self.decoder = decoder
        self.deadLetters = deadLetters
        self.publisher = publisher
        self.producer = producer
        self.consumer = consumer
        self.counters = counters
        self.remainingBudget = maxMessages
        self.flushTimeout = flushTimeout
        self.logger = logger
    }

    var budgetExhausted: Bool { remainingBudget.map { $0 <= 0 } ?? false }

    // MARK: KafkaConsumerHandler

    func consume(_ batch: KafkaMessageBatch) throws {
        for message in batch {
            if let budget = remainingBudget {
                // Messages past the budget stay unhandled and uncommitted: the next run gets them.
                guard budget > 0 else { return }
                remainingBudget = budget - 1
            }
            try handle(message)
            ledger.processed(message.topicPartition, offset: message.offset)
            counters.messages.add(1, ordering: .relaxed)
        }
        counters.modelVersion.store(Int(recommender.modelVersion), ordering: .relaxed)
    }

    private func handle(_ message: KafkaMessage) throws {
        switch decoder.decode(message.payload) {
        case let .failure(rejection):
            try deadLetters.route(message, reason: rejection.reason)
            counters.deadLettered.add(1, ordering: .relaxed)
            logger.debug("dead-lettered", metadata: ["partition": "\(message.partition)", "offset": "\(message.offset)",
                                                     "reason": "\(rejection.reason)"])
        case let .success(event):
            let fallback = message.timestampMilliseconds ?? lastTimestamp
            let timestamp = event.timestamp ?? fallback
            lastTimestamp = timestamp
            let answer = recommender.apply(event, fallbackTimestamp: fallback)
            switch event {
            case .impression:
                counters.impressions.add(1, ordering: .relaxed)
            case let .click(click):
                counters.clicks.add(1, ordering: .relaxed)
                if publisher.shouldPublishAfterClick(user: click.user, at: timestamp) {
                    let fresh = recommender.recommend(user: click.user, k: recommender.configuration.defaultRequestK, at: timestamp)
                    try publish(fresh, from: message)
                }
            case .request:
                counters.requests.add(1, ordering: .relaxed)
            }
            if let answer {
                try publish(answer, from: message)
            }
        }
    }

    private func publish(_ recommendation: Recommendation, from message: KafkaMessage) throws {
        try publisher.publish(recommendation, sourcePartition: message.partition, sourceOffset: message.offset)
        counters.recommendationsPublished.add(1, ordering: .relaxed)
    }

    func partitionsAssigned(_ partitions: [KafkaTopicPartition]) -> [KafkaTopicPartition: Int64] {
        if firstAssignment == nil { firstAssignment = ContinuousClock().now }
        assignedPartitions.formUnion(partitions)
        logger.info("partitions assigned", metadata: ["partitions": "\(partitions.sorted().map(\.description).joined(separator: ","))"])
        return [:]
    }

    func partitionsWillBeRevoked(_ partitions: [KafkaTopicPartition], lost: Bool) {
        logger.info("partitions revoked", metadata: ["partitions": "\(partitions.sorted().map(\.description).joined(separator: ","))",
                                                      "lost": "\(lost)"])
        if !lost {
            do {
                try commit(partitions)
            } catch {
                // The next owner starts from the last successful commit: events since then are
                // applied again there (at-least-once), never skipped.
                logger.warning("commit on revoke failed; the next owner re-reads from the previous commit: \(error)")
            }
        }
        ledger.remove(partitions)
        assignedPartitions.subtract(partitions)
    }

    func consumerError(_ error: KafkaError) {
        logger.warning("consumer: \(error.message)")
    }

    // MARK: Offsets

    /// Waits for every output sent so far, then commits the offsets of the inputs they came
    /// from. A delivery failure throws (the service stops without committing: nothing is lost).
    func commit(_ partitions: [KafkaTopicPartition]? = nil) throws {
        let offsets = ledger.uncommitted(in: partitions)
        guard !offsets.isEmpty else { return }
        try producer.flush(timeout: flushTimeout)
        try consumer.commit(offsets)
        ledger.markCommitted(offsets)
        counters.commits.add(1, ordering: .relaxed)
    }

    /// Messages between the processed position and the end of each assigned partition, from
    /// the watermarks librdkafka last saw (no broker round trip).
    func lag() -> Int64 {
        var total: Int64 = 0
        for partition in assignedPartitions {
            guard let high = consumer.cachedHighWatermark(partition) else { continue }
            let position = ledger.next[partition] ?? 0
            total += max(0, high - position)
        }
        return total
    }
}
