import CausalRecCore
import Kafka
import Logging
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Turns input messages into state changes and outputs, on the event-loop thread.
///
/// Per message: decode and validate; invalid (or stamped too far ahead) → dead-letter topic;
/// valid → one `StreamEngine.step`, whose answers go to the recommendations topic and whose
/// alerts to the alerts topic. The ledger's position advances with every handled message; that
/// position and the state are saved together by checkpoints, and commits happen only after every
/// output sent so far is settled — so neither an input's effect nor its outputs are lost.
///
/// Its collaborators are seams (`OutputSender` over an `OutputProducer`, an `OffsetCommitter`),
/// so the order DLQ → publish → commit is tested in memory.
final class MessageProcessor: CheckpointSource {
    let live: LiveState
    let counters: ProcessingCounters
    let metrics: ServiceMetrics
    let samplerName: String
    private let decoder: EventDecoder
    private let deadLetters: DeadLetterRouter
    private let publisher: RecommendationPublisher
    private let alerts: AlertPublisher
    private let sender: OutputSender
    private let committer: any OffsetCommitter
    private let health: BrokerHealth
    private let maxFutureSkewMilliseconds: Int64
    /// This consumer's wall clock (epoch milliseconds), read once per batch: no event may run
    /// further ahead of it than `maxFutureSkewMilliseconds`.
    let wallClock: () -> Int64
    private var batchWallTime: Int64 = 0
    private var trainingRefused = false
    private var rowUsage: RowUsageMonitor
    /// Set from the scale-out extension too (a partition's position comes from its changelog).
    var ledger = OffsetLedger()
    /// Set when the state came from a checkpoint: partitions start at its positions (or at the
    /// beginning when the checkpoint has none for them), not at the group's committed offsets.
    private(set) var startsFromCheckpoint = false
    /// Messages this run may still handle (`--max-events`); nil = unlimited.
    private(set) var remainingBudget: Int?
    private(set) var assignedPartitions: Set<KafkaTopicPartition> = []
    /// Set when handling a message threw (an output that could not be queued, say). That message
    /// may be half applied (its state changed, its outputs not sent) while its position was not
    /// recorded, so from then on this processor handles nothing, and neither a checkpoint nor a
    /// commit records its state or positions: the restart resumes from the last good checkpoint.
    /// Set from the scale-out extension too (a changelog that could not be read).
    var failure: (any Error)?
    /// Set when several instances share the group (`scale_out.enabled`): partitions' users move
    /// through the users' changelog.
    let ownership: PartitionOwnership?
    /// Set with `ownership`: item state is shared with the other instances through deltas.
    let itemSync: ItemSync?
    let logger: Logger

    private func requireNoFailure() throws {
        if let failure { throw MessageProcessorStopped(cause: failure) }
    }

    init(live: LiveState, samplerName: String, decoder: EventDecoder, sender: OutputSender, topics: PipelineConfiguration.Topics,
         committer: any OffsetCommitter, health: BrokerHealth, counters: ProcessingCounters, metrics: ServiceMetrics,
         maxMessages: Int?, logger: Logger, ownership: PartitionOwnership? = nil, itemSync: ItemSync? = nil,
         wallClock: @escaping () -> Int64 = MessageProcessor.systemMilliseconds)
    {
        self.live = live
        self.ownership = ownership
        self.itemSync = itemSync
        self.samplerName = samplerName
        self.decoder = decoder
        self.sender = sender
        deadLetters = DeadLetterRouter(sender: sender, topic: topics.deadLetter)
        publisher = RecommendationPublisher(sender: sender, topic: topics.recommendations, samplerName: samplerName)
        alerts = AlertPublisher(sender: sender, topic: topics.alerts)
        self.committer = committer
        self.health = health
        self.counters = counters
        self.metrics = metrics
        remainingBudget = maxMessages
        maxFutureSkewMilliseconds = Int64(decoder.limits.maxFutureSkewSeconds * 1_000)
        self.logger = logger
        self.wallClock = wallClock
        rowUsage = RowUsageMonitor(metrics: metrics.rows, status: health.status, logger: logger)
    }

    static func systemMilliseconds() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Int64(now.tv_sec) * 1_000 + Int64(now.tv_nsec) / 1_000_000
    }

    var budgetExhausted: Bool { remainingBudget.map { $0 <= 0 } ?? false }

    // MARK: Messages

    /// Handles a batch in order (up to the budget); returns how many it handled.
    @discardableResult
    func process<Batch: Sequence>(_ messages: Batch) throws -> Int where Batch.Element: InputMessage {
        try requireNoFailure()
        let started = ContinuousClock.now
        var tally = BatchTally()
        batchWallTime = wallClock()
        try live.withExclusiveAccess { engine in
            let heldBackBefore = engine.recommender.eventsHeldBack
            let refusedBefore = engine.recommender.training.refusedSteps
            defer {
                tally.heldBack += engine.recommender.eventsHeldBack - heldBackBefore
                noteTraining(engine.recommender, refusedBefore: refusedBefore)
                rowUsage.note(engine.recommender)
            }
            for message in messages {
                if let budget = remainingBudget {
                    // Messages past the budget stay unhandled and uncommitted: the next run gets them.
                    guard budget > 0 else { break }
                    remainingBudget = budget - 1
                }
                do {
                    try handle(message, engine: engine, tally: &tally)
                } catch {
                    failure = error
                    logger.error("handling a message failed; nothing after it is handled, checkpointed or committed in this run",
                                 metadata: ["partition": "\(message.partition)", "offset": "\(message.offset)", "error": "\(error)"])
                    throw error
                }
                ledger.processed(message.topicPartition, offset: message.offset)
            }
            counters.modelVersion.store(Int(engine.recommender.modelVersion), ordering: .relaxed)
        }
        tally.record(into: counters, metrics: metrics)
        if tally.messages > 0 {
            metrics.batchDuration.record(ContinuousClock.now - started)
            health.markReachable()
        }
        return tally.messages
    }

    private func handle(_ message: some InputMessage, engine: StreamEngine, tally: inout BatchTally) throws {
        tally.messages += 1
        let decoded = message.withBytes { _, payload in decoder.decode(payload) }
        let event: Event
        switch decoded {
        case let .failure(rejection):
            try reject(message, reason: rejection.reason, tally: &tally)
            return
        case let .success(valid):
            event = valid
        }
        if let reason = futureTimeRejection(event, brokerTimestamp: message.timestampMilliseconds, wallTime: batchWallTime) {
            metrics.futureEvents.increment()
            try reject(message, reason: reason, tally: &tally)
            return
        }
        if let ownership, !ownership.admits(user: event.user, partition: message.partition, offset: message.offset) {
            // Read again after a hand-over: the user's restored record already holds it.
            ownership.applied(EventStep.Kind(event), user: event.user, partition: message.partition, changedUser: false)
            tally.count(EventStep.Kind(event))
            return
        }
        // Shared items: an event another instance already published the counts of is not counted again.
        let countsItems = itemSync?.countsItems(partition: message.partition, offset: message.offset) ?? true
        let step = engine.step(event, fallbackTimestamp: message.timestampMilliseconds ?? engine.latestTimestamp, countsItems: countsItems,
                               source: message.partition)
        if let ownership {
            ownership.applied(step.kind, user: event.user, partition: message.partition, changedUser: true)
            // Users given back by idle eviction leave the changelog too (a tombstone at the next flush).
            if !step.evictedUsers.isEmpty {
                ownership.evicted(users: step.evictedUsers.compactMap { entry in
                    live.partition(ofUserRow: entry.row).map { (user: entry.user, partition: $0) }
                })
            }
        }
        tally.count(step.kind)
        if let row = step.userRow, step.kind != .forget { live.noteUserPartition(row: row, partition: message.partition) }
        for alert in step.alerts { try raise(alert) }
        for answer in step.answers {
            if try publisher.publish(answer, sourcePartition: message.partition, sourceOffset: message.offset) {
                tally.recommendations += 1
            }
        }
    }

    /// Refused training steps: counted, logged once per run of them, and `/ready` says why
    /// while the latest step is refused.
    private func noteTraining(_ recommender: OnlineRecommender, refusedBefore: Int) {
        let refused = recommender.training.refusedSteps - refusedBefore
        if refused > 0 { metrics.refusedTrainingSteps.increment(by: refused) }
        let refusing = recommender.training.latestStepRefused
        guard refusing != trainingRefused else { return }
        trainingRefused = refusing
        if refusing {
            let reason = "training steps are refused: a gradient is not finite (\(recommender.training.refusedSteps) refused so far; lower model.learning_rate or deconfounding.training_exponent)"
            logger.error("\(reason)")
            health.status.update { $0.trainingProblem = reason }
        } else {
            logger.info("training steps are applied again")
            health.status.update { $0.trainingProblem = nil }
        }
    }

    private func reject(_ message: some InputMessage, reason: String, tally: inout BatchTally) throws {
        try deadLetters.route(message, reason: reason)
        tally.invalid += 1
        logger.debug("dead-lettered", metadata: ["partition": "\(message.partition)", "offset": "\(message.offset)", "reason": "\(reason)"])
    }

    /// An event stamped further ahead than `events.max_future_skew_seconds` — of this
    /// consumer's own clock, or of its message's broker timestamp — would drag exposure decay and
    /// idle eviction into the future (both follow the latest time seen), so it goes to the
    /// dead-letter topic. The consumer's clock is the bound a producer cannot choose: a producer
    /// sets the message's CreateTime as freely as the event's `ts`. An event without `ts` takes
    /// the broker timestamp, so that is checked against the clock too.
    private func futureTimeRejection(_ event: Event, brokerTimestamp: Int64?, wallTime: Int64) -> String? {
        let limit = maxFutureSkewMilliseconds
        if let eventTime = event.timestamp ?? brokerTimestamp {
            let (skew, overflow) = eventTime.subtractingReportingOverflow(wallTime)
            if overflow || skew > limit {
                let what = event.timestamp != nil ? "event time" : "message's broker timestamp (the event has no ts)"
                return "The \(what) \(eventTime) is \(overflow ? "far" : "\(skew / 1_000) s") ahead of this consumer's clock (\(wallTime)); at most \(limit / 1_000) s are accepted (events.max_future_skew_seconds)."
            }
        }
        guard let eventTime = event.timestamp, let brokerTimestamp else { return nil }
        let (skew, overflow) = eventTime.subtractingReportingOverflow(brokerTimestamp)
        guard overflow || skew > limit else { return nil }
        return "The event time \(eventTime) is \(overflow ? "far" : "\(skew / 1_000) s") ahead of the message's broker timestamp \(brokerTimestamp); at most \(limit / 1_000) s are accepted (events.max_future_skew_seconds)."
    }

    private func raise(_ alert: DriftAlert) throws {
        try alerts.publish(alert)
        metrics.alerts.increment()
        logger.warning("drift alert", metadata: [
            "metric": "\(alert.metric)", "method": "\(alert.method)", "value": "\(alert.value)", "threshold": "\(alert.threshold)",
            "severity": "\(alert.severity)", "event_index": "\(alert.eventIndex)",
        ])
    }

    // MARK: Assignment

    /// Where each newly assigned partition starts. The state's own position wins wherever it has
    /// one: the state holds every event before it, so starting anywhere else would skip events or
    /// apply them twice. (A partition that comes back after being lost, e.g. when the broker was
    /// unreachable for longer than the session timeout, resumes here even if the group never saw
    /// a commit.) Elsewhere a restored checkpoint means the state has nothing from that partition
    /// (start at the beginning), while a fresh state starts at the group's committed offsets.
    func assign(_ partitions: [KafkaTopicPartition]) -> [KafkaTopicPartition: Int64] {
        assignedPartitions.formUnion(partitions)
        live.setAssigned(Set(assignedPartitions.map(\.partition)))
        if let ownership {
            takeOver(partitions, ownership: ownership)
            setTrainingShare(ownership)
        }
        var starts: [KafkaTopicPartition: Int64] = [:]
        for partition in partitions {
            if let position = ledger.next[partition] {
                starts[partition] = position
            } else if startsFromCheckpoint && ownership == nil {
                starts[partition] = KafkaOffset.beginning
            }
        }
        return starts
    }

    /// The partitions are gone (after `commit(in:)` when they were revoked in order).
    func unassign(_ partitions: [KafkaTopicPartition]) {
        if let ownership {
            // Their users live on with the next owner, from the changelog.
            live.withExclusiveAccess { engine in
                for partition in partitions {
                    ownership.release(partition.partition, recommender: engine.recommender, users: live.users(inPartition: partition.partition))
                    ledger.reset(partition, to: nil)
                }
            }
        }
        ledger.forgetCommitted(partitions)
        assignedPartitions.subtract(partitions)
        live.setAssigned(Set(assignedPartitions.map(\.partition)))
        if let ownership { setTrainingShare(ownership) }
    }

    /// The batch follows the partitions owned (`OnlineRecommender.setTrainingShare`).
    private func setTrainingShare(_ ownership: PartitionOwnership) {
        let owned = Set(assignedPartitions.map(\.partition)).count
        live.withExclusiveAccess { engine in
            engine.recommender.setTrainingShare(owned: min(owned, ownership.inputPartitions), of: ownership.inputPartitions)
        }
    }

    // MARK: Offsets

    /// Settles every output sent so far (at most `flushTimeout`), then commits the positions of
    /// the assigned partitions (or of `partitions`). A flush that times out throws
    /// `flushTimedOut` and commits nothing.
    func commit(in partitions: Set<KafkaTopicPartition>? = nil, flushTimeout: Duration) throws {
        try requireNoFailure()
        let offsets = ledger.uncommitted(in: partitions ?? assignedPartitions)
        guard !offsets.isEmpty else { return }
        try sender.flush(timeout: flushTimeout)
        try committer.commit(offsets)
        ledger.markCommitted(offsets)
    }

    /// Commits positions that are already durable (a checkpoint holds them, its outputs settled).
    func commitCheckpointed(_ positions: [KafkaTopicPartition: Int64]) throws {
        try requireNoFailure()
        let offsets = positions.filter { assignedPartitions.contains($0.key) }
            .map { KafkaTopicPartitionOffset($0.key, offset: $0.value) }.sorted { $0.topicPartition < $1.topicPartition }
        guard !offsets.isEmpty else { return }
        try committer.commit(offsets)
        ledger.markCommitted(offsets)
    }

    /// Settles every output sent so far (before a checkpoint records the positions they came from).
    func settleOutputs(timeout: Duration) throws {
        try sender.flush(timeout: timeout)
    }

    /// Messages between the processed position and the end of each assigned partition, from
    /// the watermarks librdkafka last saw (no broker round trip).
    func lag() -> Int64 {
        var total: Int64 = 0
        for partition in assignedPartitions {
            guard let high = committer.cachedHighWatermark(partition) else { continue }
            total += max(0, high - (ledger.next[partition] ?? 0))
        }
        return total
    }

    // MARK: State

    /// The body and the positions it reflects, captured together between batches: the engine's
    /// lock is held while `save` writes the body.
    func captureState<Result>(_ save: (CheckpointCapture, _ writeBody: (inout StateWriter) -> Void) throws -> Result) throws -> Result {
        try requireNoFailure()
        return try live.withExclusiveAccess { engine in
            let recommender = engine.recommender
            // The reader refuses a model holding NaN or ±∞; such a state is never written, so the
            // checkpoints on disk stay ones that restore.
            try recommender.model.checkFinite()
            let owned = ledger.next.filter { assignedPartitions.contains($0.key) }
            let ownedPositions = Dictionary(uniqueKeysWithValues: owned.map { ($0.key.partition, $0.value) })
            let changelog = ownership?.capture(positions: ownedPositions, recommender: recommender)
            // The item changes up to here are published before the changelog and the file.
            itemSync?.take(from: recommender, positions: ownedPositions, wallMilliseconds: wallClock())
            let syncState = itemSync?.state
            let capture = CheckpointCapture(positions: ledger.next, applied: recommender.applied.total, modelVersion: recommender.modelVersion,
                                            generatorVersion: recommender.generatorVersion, dimension: recommender.model.dimension,
                                            changelog: changelog)
            do {
                return try save(capture) { writer in
                    CheckpointBody.write(engine: engine, userPartitions: live, itemSync: syncState, to: &writer)
                }
            } catch {
                if let changelog { ownership?.giveBack(changelog) }
                throw error
            }
        }
    }

    /// Restores a checkpoint body and its positions (before the first poll). Everything is read
    /// into fresh objects and checked first (`CheckpointBody.decode`); only a state that
    /// restored completely replaces the live one, so a refused checkpoint leaves nothing
    /// half-applied behind.
    func restoreState(from reader: inout StateReader, layout: Int, positions: [KafkaTopicPartition: Int64]) throws {
        for (partition, offset) in positions where partition.partition < 0 || offset < 0 {
            throw StateReadError("the checkpoint's position \(offset) for partition \(partition.partition) is invalid")
        }
        let restored = try CheckpointBody.decode(from: &reader, layout: layout, makeEngine: live.makeEngine)
        live.replace(with: restored.engine, userPartitions: restored.userPartitions)
        if let state = restored.itemSync { itemSync?.restore(state) }
        counters.modelVersion.store(Int(restored.engine.recommender.modelVersion), ordering: .relaxed)
        ledger = OffsetLedger(restoring: positions)
        startsFromCheckpoint = true
    }
}

/// The processor refuses to go on after a message failed (see `MessageProcessor.failure`).
struct MessageProcessorStopped: Error, CustomStringConvertible {
    let cause: any Error

    var description: String { "the stream processor stopped after an error: \(cause)" }
}
