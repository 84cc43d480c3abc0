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
    /// Write the state as JSON lines to this file at the end of the run (`StateDump`).
    public var dumpStatePath: String?

    public init(maxMessages: Int? = nil, idleExit: Duration? = nil, checkpointDirectory: String? = nil, freshState: Bool = false,
                dumpStatePath: String? = nil)
    {
        self.dumpStatePath = dumpStatePath
        self.maxMessages = maxMessages
        self.idleExit = idleExit
        self.checkpointDirectory = checkpointDirectory
        self.freshState = freshState
    }
}

/// What a finished run did, for summaries.
package struct ProcessingOutcome: Sendable {
    package enum StopReason: String, Sendable {
        case shutdownRequested = "shutdown requested"
        case maxEvents = "max events reached"
        case idle = "idle"
    }

    package var reason: StopReason
    package var messages: Int
    package var appliedEvents: Int
    package var deadLettered: Int
    package var recommendationsPublished: Int
    package var modelVersion: Int64
    /// Prequential hit-rates per window of evaluated clicks.
    package var evaluator: PrequentialEvaluator
    package var elapsed: Duration
    /// Seconds from the first handled message to the end of the loop (excludes joining and
    /// leaving the group).
    package var processingSeconds: Double
}

/// The blocking event loop, on a dedicated thread: wire the clients and parts
/// (`ServiceAssembly`), restore the newest checkpoint, then poll a batch, process it, checkpoint (or
/// commit) at intervals, report progress — and on stop write a last checkpoint, settle every
/// output, commit and leave the group cleanly.
final class PollLoop: Sendable {
    private let configuration: PipelineConfiguration
    private let bootstrapServers: String
    private let options: RunOptions
    private let counters: ProcessingCounters
    private let metrics: ServiceMetrics
    private let status: ServiceStatus
    private let live: LiveState
    private let logger: Logger
    /// The loop's clock (periodic work, idle exit, the shutdown budget); tests pass a manual one.
    private let now: @Sendable () -> ContinuousClock.Instant

    init(configuration: PipelineConfiguration, bootstrapServers: String, options: RunOptions, counters: ProcessingCounters,
         metrics: ServiceMetrics, status: ServiceStatus, live: LiveState, logger: Logger,
         now: @escaping @Sendable () -> ContinuousClock.Instant = { .now })
    {
        self.now = now
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
        let parts = try ServiceAssembly(configuration: configuration, bootstrapServers: bootstrapServers, options: options,
                                        counters: counters, metrics: metrics, status: status, live: live, logger: logger)
        return try run(parts, stop: stop)
    }

    /// Runs the loop over wired parts: restore, subscribe, poll until stopped, shut down in order.
    func run(_ parts: ServiceAssembly, stop: borrowing Atomic<Bool>) throws -> ProcessingOutcome {
        let started = now()
        try parts.restore()
        try parts.consumer.subscribe(topics: [configuration.topics.events])
        logger.info("consuming", metadata: ["topic": "\(configuration.topics.events)", "group": "\(configuration.groupID)",
                                             "brokers": "\(bootstrapServers)", "sampler": "\(parts.processor.samplerName)",
                                             "checkpoints": "\(parts.checkpointer.map { $0.store.directory } ?? "off")"])
        var progress = ProgressReporter(interval: .seconds(fractional: configuration.progress.intervalSeconds), start: started)
        let flushTimeout = Duration.milliseconds(configuration.producer.flushTimeoutMilliseconds)
        var reason = ProcessingOutcome.StopReason.shutdownRequested
        var activity = LoopActivity(start: started)
        var ownedApplied: Int?
        var owned: StateDump.Owned?
        do {
            reason = try loop(parts, stop: stop, progress: &progress, activity: &activity)
            activity.loopEnded = now()
            status.update { $0.stopping = true }
            logger.info("stopping", metadata: ["reason": "\(reason.rawValue)"])
            // With several instances the events applied are those of the partitions owned now
            // (each continues its previous owners' count); shutting down gives them away.
            (ownedApplied, owned) = live.withExclusiveAccess { engine in
                let applied = parts.processor.ownership?.ledger.applied
                return (applied.map { $0.values.reduce(0) { $0 + $1.total } },
                        options.dumpStatePath.map { _ in StateDump.owned(engine, live: live, applied: applied) })
            }
            try shutDown(parts, flushTimeout: flushTimeout)
        } catch {
            // Leave without committing what was not settled; a restart re-reads it.
            logger.error("event loop failed: \(error)")
            try? parts.consumer.close(handler: nil)
            try? parts.producer.close(timeout: .seconds(5))
            throw error
        }
        updateGauges(parts)
        if let path = options.dumpStatePath, let owned {
            // What the other instances published up to now, so instances that all stopped compare alike.
            parts.processor.catchUpItems()
            try StateDump.write(owned, items: live, to: path)
        }
        let (evaluator, applied, modelVersion) = live.withExclusiveAccess {
            ($0.recommender.evaluator, $0.recommender.applied.total, $0.recommender.modelVersion)
        }
        let ended = now()
        progress.report(now: ended, counters: counters, lag: 0, evaluator: evaluator, logger: logger)
        return ProcessingOutcome(reason: reason, messages: counters.messages.load(ordering: .relaxed), appliedEvents: ownedApplied ?? applied,
                                 deadLettered: counters.deadLettered.load(ordering: .relaxed),
                                 recommendationsPublished: counters.recommendationsPublished.load(ordering: .relaxed),
                                 modelVersion: modelVersion, evaluator: evaluator, elapsed: ended - started,
                                 processingSeconds: activity.firstMessage.map { (activity.loopEnded ?? ended) - $0 }?.inSeconds ?? 0)
    }

    /// When the loop last saw a message, and when processing began and ended.
    private struct LoopActivity {
        var lastMessage: ContinuousClock.Instant
        var firstMessage: ContinuousClock.Instant?
        var loopEnded: ContinuousClock.Instant?

        init(start: ContinuousClock.Instant) { lastMessage = start }
    }

    /// Polls and processes until asked to stop, the budget is spent or the stream stays idle.
    private func loop(_ parts: ServiceAssembly, stop: borrowing Atomic<Bool>, progress: inout ProgressReporter,
                      activity: inout LoopActivity) throws -> ProcessingOutcome.StopReason
    {
        let pollTimeout = Duration.milliseconds(configuration.consumer.pollTimeoutMilliseconds)
        // A periodic checkpoint must not stall polling for long (the group would evict us).
        let periodicFlushTimeout = min(Duration.milliseconds(configuration.producer.flushTimeoutMilliseconds), .seconds(5))
        var commits = PeriodicTask(every: .milliseconds(configuration.consumer.commitIntervalMilliseconds), start: activity.lastMessage)
        var probes = PeriodicTask(every: .seconds(2), start: activity.lastMessage)
        var gauges = PeriodicTask(every: .milliseconds(500), start: activity.lastMessage)
        var itemExchange = PeriodicTask(every: .milliseconds(configuration.scaleOut.syncIntervalMilliseconds), start: activity.lastMessage)
        while !stop.load(ordering: .acquiring) {
            let handled = try parts.consumer.pollOnce(timeout: pollTimeout, handler: parts.handler)
            let now = self.now()
            if handled > 0 {
                activity.lastMessage = now
                if activity.firstMessage == nil { activity.firstMessage = now }
            }
            if parts.processor.budgetExhausted { return .maxEvents }
            if let idle = options.idleExit, let assigned = parts.handler.firstAssignment, now - max(activity.lastMessage, assigned) >= idle {
                return .idle
            }
            let messages = counters.messages.load(ordering: .relaxed)
            if let checkpointer = parts.checkpointer {
                checkpointer.noteMessages(messages)
                if checkpointer.isDue(now: now, messages: messages) {
                    try checkpointer.write(parts.processor, messages: messages, flushTimeout: periodicFlushTimeout, now: now)
                }
            } else if commits.isDue(now) {
                do {
                    try parts.processor.commit(flushTimeout: periodicFlushTimeout)
                    commits.done(now)
                } catch let error as KafkaError where error.kind == .flushTimedOut {
                    logger.warning("commit postponed: \(error.message)")
                    commits.retry(after: .seconds(5), now: now)
                }
            }
            // librdkafka does not always report a broker that went away (an idle connection is
            // closed quietly, a lost group is only a revoke), so a quiet consumer asks.
            let quiet = now - max(activity.lastMessage, probes.last) >= .seconds(3)
            if (!parts.health.isReachable || quiet) && probes.isDue(now) {
                probes.done(now)
                probeBroker(parts)
            }
            if parts.processor.itemSync != nil && itemExchange.isDue(now) {
                itemExchange.done(now)
                parts.processor.syncItems()
            }
            if gauges.isDue(now) {
                gauges.done(now)
                updateGauges(parts)
            }
            if progress.isDue(now) {
                let evaluator = live.withExclusiveAccess { $0.recommender.evaluator }
                progress.report(now: now, counters: counters, lag: parts.processor.lag(), evaluator: evaluator, logger: logger)
            }
        }
        return .shutdownRequested
    }

    /// A last checkpoint (or commit), every output settled, then the group left cleanly — all
    /// within one `ShutdownBudget`, so the waits cannot add up past the signal's hard bound.
    private func shutDown(_ parts: ServiceAssembly, flushTimeout: Duration) throws {
        let budget = ShutdownBudget(now: now)
        parts.handler.shutdownBudget = budget
        let messages = counters.messages.load(ordering: .relaxed)
        if let checkpointer = parts.checkpointer {
            if checkpointer.hasPendingMessages(messages),
               !(try checkpointer.write(parts.processor, messages: messages, flushTimeout: budget.timeout(atMost: flushTimeout)))
            {
                logger.error("the final checkpoint could not be written; a restart resumes from the previous one and re-applies the events after it")
            }
        } else {
            try parts.processor.commit(flushTimeout: budget.timeout(atMost: flushTimeout))
        }
        try parts.consumer.close(handler: parts.handler)
        try parts.processor.settleOutputs(timeout: budget.timeout(atMost: flushTimeout))
        try parts.producer.close(timeout: budget.timeout(atMost: flushTimeout))
        if budget.isSpent { logger.warning("shutdown used its whole budget of \(ShutdownBudget.standard)") }
    }

    /// A cheap metadata request: tells when an unreachable broker is back, or that a quiet one is gone.
    private func probeBroker(_ parts: ServiceAssembly) {
        do {
            _ = try parts.consumer.topicMetadata(configuration.topics.events, timeout: .seconds(1))
            parts.health.markReachable()
        } catch {
            parts.health.markUnreachable("metadata request failed: \(error)")
        }
    }

    private func updateGauges(_ parts: ServiceAssembly) {
        let (modelVersion, denoiserVersion) = live.withExclusiveAccess { ($0.recommender.modelVersion, $0.recommender.generatorVersion) }
        metrics.modelVersion.record(Double(modelVersion))
        metrics.denoiserVersion.record(Double(denoiserVersion))
        metrics.lag.record(Double(parts.processor.lag()))
        if let age = parts.checkpointer?.ageSeconds() { metrics.checkpointAge.record(age) }
    }
}

/// Something the loop does every `interval` (or after `retry` when it failed).
struct PeriodicTask {
    let interval: Duration
    private(set) var last: ContinuousClock.Instant
    private var notBefore: ContinuousClock.Instant

    init(every interval: Duration, start: ContinuousClock.Instant) {
        self.interval = interval
        last = start
        notBefore = start
    }

    func isDue(_ now: ContinuousClock.Instant) -> Bool { now - last >= interval && now >= notBefore }

    mutating func done(_ now: ContinuousClock.Instant) { last = now }

    mutating func retry(after delay: Duration, now: ContinuousClock.Instant) { notBefore = now + delay }
}
