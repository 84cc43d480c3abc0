import CausalRecCore
import Kafka
import Logging

/// Turns consumed messages into state changes and outputs, on the event-loop thread.
///
/// Per message: decode and validate; invalid → dead-letter topic; valid → the recommender
/// (which may answer a request) → recommendations topic. The ledger's position advances with
/// every handled message; that position and the state are saved together by checkpoints, and
/// commits happen only after the producer delivered everything sent so far — so neither an
/// input's effect nor its outputs are lost.
final class StreamProcessor: KafkaConsumerHandler {
    let live: LiveState
    let counters: ProcessingCounters
    let metrics: ServiceMetrics
    let status: ServiceStatus
    let samplerName: String
    private let decoder: EventDecoder
    private let deadLetters: DeadLetterRouter
    private let publisher: RecommendationPublisher
    private let sender: OutputSender
    private let consumer: KafkaConsumer
    private var drift: DriftMonitor?
    private let alerts: AlertPublisher
    private let logger: Logger
    private(set) var ledger = OffsetLedger()
    /// Set when the state came from a checkpoint: partitions start at its positions (or at the
    /// beginning when the checkpoint has none for them), not at the group's committed offsets.
    private(set) var startsFromCheckpoint = false
    /// Messages this run may still handle (`--max-events`); nil = unlimited.
    private(set) var remainingBudget: Int?
    private(set) var firstAssignment: ContinuousClock.Instant?
    private(set) var assignedPartitions: Set<KafkaTopicPartition> = []
    /// Called with the partitions about to be revoked, before they are committed and handed over.
    var beforeRevoke: (([KafkaTopicPartition]) -> Void)?
    /// Event time to use for an event without `ts` when the message has no timestamp either.
    private var lastTimestamp: Int64 = 0
    private let maxFutureSkewMilliseconds: Int64

    init(live: LiveState, samplerName: String, decoder: EventDecoder, deadLetters: DeadLetterRouter,
         publisher: RecommendationPublisher, sender: OutputSender, consumer: KafkaConsumer, drift: DriftMonitor?,
         alerts: AlertPublisher, counters: ProcessingCounters, metrics: ServiceMetrics, status: ServiceStatus, maxMessages: Int?, logger: Logger)
    {
        self.live = live
        self.samplerName = samplerName
        self.decoder = decoder
        self.deadLetters = deadLetters
        self.publisher = publisher
        self.sender = sender
        self.consumer = consumer
        self.drift = drift
        self.alerts = alerts
        self.counters = counters
        self.metrics = metrics
        self.status = status
        self.remainingBudget = maxMessages
        maxFutureSkewMilliseconds = Int64(decoder.limits.maxFutureSkewSeconds * 1_000)
        self.logger = logger
    }

    var budgetExhausted: Bool { remainingBudget.map { $0 <= 0 } ?? false }

    // MARK: KafkaConsumerHandler

    func consume(_ batch: KafkaMessageBatch) throws {
        let started = ContinuousClock.now
        var tally = BatchTally()
        try live.withExclusiveAccess { recommender in
            for message in batch {
                if let budget = remainingBudget {
                    // Messages past the budget stay unhandled and uncommitted: the next run gets them.
                    guard budget > 0 else { break }
                    remainingBudget = budget - 1
                }
                try handle(message, recommender: recommender, tally: &tally)
                ledger.processed(message.topicPartition, offset: message.offset)
            }
            counters.modelVersion.store(Int(recommender.modelVersion), ordering: .relaxed)
        }
        tally.record(into: counters, metrics: metrics)
        if tally.messages > 0 {
            metrics.batchDuration.recordNanoseconds(Checkpointer.nanoseconds(ContinuousClock.now - started))
            if !status.snapshot.brokerReachable { markBrokerReachable() }
        }
    }

    private func handle(_ message: KafkaMessage, recommender: OnlineRecommender, tally: inout BatchTally) throws {
        tally.messages += 1
        switch decoder.decode(message.payload) {
        case let .failure(rejection):
            try deadLetters.route(message, reason: rejection.reason)
            tally.invalid += 1
            logger.debug("dead-lettered", metadata: ["partition": "\(message.partition)", "offset": "\(message.offset)",
                                                     "reason": "\(rejection.reason)"])
        case let .success(event):
            if let reason = futureTimeRejection(event, brokerTimestamp: message.timestampMilliseconds) {
                try deadLetters.route(message, reason: reason)
                tally.invalid += 1
                metrics.futureEvents.increment()
                return
            }
            let fallback = message.timestampMilliseconds ?? lastTimestamp
            let timestamp = event.timestamp ?? fallback
            lastTimestamp = timestamp
            let answer = recommender.apply(event, fallbackTimestamp: fallback)
            if let drift {
                for alert in drift.observe(event, at: timestamp, recommender: recommender) {
                    try raise(alert)
                }
            }
            switch event {
            case let .impression(impression):
                tally.impressions += 1
                live.noteUserPartition(user: impression.user, partition: message.partition)
            case let .click(click):
                tally.clicks += 1
                live.noteUserPartition(user: click.user, partition: message.partition)
                if publisher.shouldPublishAfterClick(user: click.user, at: timestamp) {
                    let fresh = recommender.recommend(user: click.user, k: recommender.configuration.defaultRequestK, at: timestamp)
                    try publish(fresh, from: message, tally: &tally)
                }
            case let .request(request):
                tally.requests += 1
                live.noteUserPartition(user: request.user, partition: message.partition)
            case .forget:
                tally.forgets += 1
            }
            if let answer {
                try publish(answer, from: message, tally: &tally)
            }
        }
    }

    /// An event stamped further ahead of its message's broker timestamp than
    /// `events.max_future_skew_seconds` would drag exposure decay and idle eviction into the
    /// future for good (both follow the latest time seen), so it goes to the dead-letter topic.
    private func futureTimeRejection(_ event: Event, brokerTimestamp: Int64?) -> String? {
        guard let eventTime = event.timestamp, let brokerTimestamp else { return nil }
        let skew = eventTime - brokerTimestamp
        guard skew > maxFutureSkewMilliseconds else { return nil }
        return "The event time \(eventTime) is \(skew / 1_000) s ahead of the message's broker timestamp \(brokerTimestamp); at most \(maxFutureSkewMilliseconds / 1_000) s are accepted (events.max_future_skew_seconds)."
    }

    private func raise(_ alert: DriftAlert) throws {
        try alerts.publish(alert)
        metrics.alerts.increment()
        logger.warning("drift alert", metadata: [
            "metric": "\(alert.metric)", "method": "\(alert.method)", "value": "\(alert.value)", "threshold": "\(alert.threshold)",
            "severity": "\(alert.severity)", "event_index": "\(alert.eventIndex)",
        ])
    }

    private func publish(_ recommendation: Recommendation, from message: KafkaMessage, tally: inout BatchTally) throws {
        if try publisher.publish(recommendation, sourcePartition: message.partition, sourceOffset: message.offset) {
            tally.recommendations += 1
        }
    }

    func partitionsAssigned(_ partitions: [KafkaTopicPartition]) -> [KafkaTopicPartition: Int64] {
        if firstAssignment == nil { firstAssignment = ContinuousClock().now }
        assignedPartitions.formUnion(partitions)
        publishAssignment()
        // The state's own position wins wherever it has one: the state holds every event before
        // it, so starting anywhere else would skip events or apply them twice. (A partition that
        // comes back after being lost, e.g. when the broker was unreachable for longer than the
        // session timeout, resumes here even if the group never saw a commit.) Elsewhere a
        // restored checkpoint means the state has nothing from that partition (start at the
        // beginning), while a fresh state starts at the group's committed offsets.
        var starts: [KafkaTopicPartition: Int64] = [:]
        for partition in partitions {
            if let position = ledger.next[partition] {
                starts[partition] = position
            } else if startsFromCheckpoint {
                starts[partition] = KafkaOffset.beginning
            }
        }
        logger.info("partitions assigned", metadata: [
            "partitions": "\(Self.describe(partitions))",
            "start": "\(partitions.sorted().map { "\($0.partition)@\(Self.describeStart(starts[$0]))" }.joined(separator: ","))",
        ])
        return starts
    }

    private static func describeStart(_ start: Int64?) -> String {
        switch start {
        case nil: "committed"
        case KafkaOffset.beginning: "beginning"
        case let offset?: "state:\(offset)"
        }
    }

    func partitionsWillBeRevoked(_ partitions: [KafkaTopicPartition], lost: Bool) {
        logger.info("partitions revoked", metadata: ["partitions": "\(Self.describe(partitions))", "lost": "\(lost)"])
        if !lost {
            beforeRevoke?(partitions)
            do {
                try commit(in: Set(partitions), flushTimeout: .seconds(10))
            } catch {
                // The next owner starts from the last successful commit: events since then are
                // applied again there (at-least-once), never skipped.
                logger.warning("commit on revoke failed; the next owner re-reads from the previous commit: \(error)")
            }
        }
        ledger.forgetCommitted(partitions)
        assignedPartitions.subtract(partitions)
        publishAssignment()
    }

    func consumerError(_ error: KafkaError) {
        if error.isConnectivityProblem {
            markBrokerUnreachable(error.message)
        } else {
            logger.warning("consumer: \(error.message)")
        }
    }

    func markBrokerUnreachable(_ problem: String) {
        let wasReachable = status.snapshot.brokerReachable
        status.update {
            $0.brokerReachable = false
            $0.brokerProblem = problem
        }
        metrics.brokerUp.record(0)
        if wasReachable { logger.warning("broker unreachable, librdkafka keeps retrying: \(problem)") }
    }

    func markBrokerReachable() {
        guard !status.snapshot.brokerReachable else { return }
        status.update {
            $0.brokerReachable = true
            $0.brokerProblem = nil
        }
        metrics.brokerUp.record(1)
        logger.info("broker reachable again")
    }

    private func publishAssignment() {
        let count = assignedPartitions.count
        status.update { $0.assignedPartitions = count }
        live.setAssigned(Set(assignedPartitions.map(\.partition)))
    }

    private static func describe(_ partitions: [KafkaTopicPartition]) -> String {
        partitions.sorted().map(\.description).joined(separator: ",")
    }

    // MARK: Offsets

    /// Waits (at most `flushTimeout`) for every output sent so far, then commits the positions
    /// of the assigned partitions. A flush that times out throws `flushTimedOut` and commits
    /// nothing; outputs that failed are settled first (`OutputSender.flush`).
    func commit(in partitions: Set<KafkaTopicPartition>? = nil, flushTimeout: Duration) throws {
        let offsets = ledger.uncommitted(in: partitions ?? assignedPartitions)
        guard !offsets.isEmpty else { return }
        try sender.flush(timeout: flushTimeout)
        try consumer.commit(offsets)
        ledger.markCommitted(offsets)
        counters.commits.add(1, ordering: .relaxed)
    }

    /// Commits positions that are already known to be durable (a checkpoint holds them).
    func commitCheckpointed(_ positions: [KafkaTopicPartition: Int64]) throws {
        let offsets = positions.filter { assignedPartitions.contains($0.key) }
            .map { KafkaTopicPartitionOffset($0.key, offset: $0.value) }.sorted { $0.topicPartition < $1.topicPartition }
        guard !offsets.isEmpty else { return }
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

    // MARK: State

    /// The whole state as a checkpoint body, with the positions it reflects. Call on the loop
    /// thread between batches.
    func captureState() -> (body: [UInt8], positions: [KafkaTopicPartition: Int64], applied: Int, modelVersion: Int64, generatorVersion: Int) {
        live.withExclusiveAccess { recommender in
            let body = CheckpointBody.encode(recommender: recommender, lastTimestamp: lastTimestamp, publisher: publisher,
                                             userPartitions: live, drift: drift)
            return (body, ledger.next, recommender.applied.total, recommender.modelVersion, recommender.generatorVersion)
        }
    }

    /// Restores a checkpoint body and its positions (before the first poll). Everything is read
    /// into fresh objects and checked first (`CheckpointBody.decode`); only a state that
    /// restored completely replaces the live one, so a refused checkpoint leaves nothing
    /// half-applied behind.
    func restoreState(body: [UInt8], positions: [KafkaTopicPartition: Int64]) throws {
        for (partition, offset) in positions where partition.partition < 0 || offset < 0 {
            throw StateReadError("the checkpoint's position \(offset) for partition \(partition.partition) is invalid")
        }
        let restored = try CheckpointBody.decode(body, makeRecommender: live.makeEmptyRecommender, drift: drift?.configuration)
        live.replace(with: restored.recommender, userPartitions: restored.userPartitions)
        drift = restored.drift
        lastTimestamp = restored.lastTimestamp
        publisher.restore(restored.publisher)
        counters.modelVersion.store(Int(restored.recommender.modelVersion), ordering: .relaxed)
        ledger = OffsetLedger(restoring: positions)
        startsFromCheckpoint = true
    }
}

/// Counts of one consumed batch, added to the shared counters and metrics once per batch.
struct BatchTally {
    var messages = 0
    var impressions = 0
    var clicks = 0
    var requests = 0
    var forgets = 0
    var invalid = 0
    var recommendations = 0

    func record(into counters: ProcessingCounters, metrics: ServiceMetrics) {
        guard messages > 0 else { return }
        counters.messages.add(messages, ordering: .relaxed)
        counters.impressions.add(impressions, ordering: .relaxed)
        counters.clicks.add(clicks, ordering: .relaxed)
        counters.requests.add(requests, ordering: .relaxed)
        counters.deadLettered.add(invalid, ordering: .relaxed)
        counters.recommendationsPublished.add(recommendations, ordering: .relaxed)
        if impressions > 0 { metrics.events[.impression]?.increment(by: impressions) }
        if clicks > 0 { metrics.events[.click]?.increment(by: clicks) }
        if requests > 0 { metrics.events[.request]?.increment(by: requests) }
        if forgets > 0 { metrics.events[.forget]?.increment(by: forgets) }
        if invalid > 0 {
            metrics.events[.invalid]?.increment(by: invalid)
            metrics.deadLettered.increment(by: invalid)
        }
        let applied = impressions + clicks + requests
        if applied > 0 { metrics.applied.increment(by: applied) }
        if recommendations > 0 { metrics.recommendations.increment(by: recommendations) }
    }
}
