import CausalRecCore
import Foundation
import Kafka
import Logging

/// When and how the running service saves its state: checkpoints with the positions they reflect (README.md, "Delivery and state").
///
/// A checkpoint captures the state and the input positions it reflects (between two batches,
/// so they agree), then waits until every output of those inputs is settled, then writes the
/// file atomically, then commits the same positions to the group. A crash at any point leaves the
/// previous checkpoint intact, and every output of the events it covers delivered. When the
/// outputs cannot be settled in time (broker outage) the checkpoint is postponed with exponential
/// backoff; the state keeps advancing in memory and nothing is lost.
///
/// Time comes in as `now` (a monotonic instant), so scheduling and backoff are tested without
/// waiting.
final class Checkpointer {
    let store: CheckpointStore
    let identity: CheckpointIdentity
    let policy: PipelineConfiguration.Checkpointing
    private let status: ServiceStatus
    private let metrics: ServiceMetrics
    private let logger: Logger
    private var lastWritten: ContinuousClock.Instant
    private var messagesAtLastCheckpoint = 0
    private(set) var retryAt: ContinuousClock.Instant?
    private(set) var consecutiveFailures = 0
    /// Wall-clock time of the newest checkpoint (written or restored), for its age.
    private(set) var lastWrittenWallMilliseconds: Int64?

    init(store: CheckpointStore, identity: CheckpointIdentity, policy: PipelineConfiguration.Checkpointing,
         status: ServiceStatus, metrics: ServiceMetrics, logger: Logger, now: ContinuousClock.Instant = .now)
    {
        self.store = store
        self.identity = identity
        self.policy = policy
        self.status = status
        self.metrics = metrics
        self.logger = logger
        lastWritten = now
        status.update {
            $0.checkpointsEnabled = true
            $0.maxCheckpointAgeSeconds = policy.maxAgeSeconds
            $0.lastCheckpointSeconds = status.nowSeconds
        }
    }

    /// Restores the newest checkpoint into `processor`; nil when the directory has none. Throws
    /// `CheckpointStore.RestoreRefusal` when one exists but cannot be used.
    func restore(into processor: some CheckpointSource) throws -> CheckpointMetadata? {
        let restored = try store.restoreNewest(for: identity) { checkpoint -> CheckpointMetadata in
            let metadata = checkpoint.metadata
            var positions: [KafkaTopicPartition: Int64] = [:]
            for entry in metadata.offsets {
                positions[KafkaTopicPartition(topic: metadata.identity.topic, partition: entry.partition)] = entry.offset
            }
            guard OnlineRecommender.readableStateLayouts.contains(metadata.stateLayout) else {
                throw StateReadError("its state layout \(metadata.stateLayout) is not one this build reads (\(OnlineRecommender.readableStateLayouts))")
            }
            var reader = checkpoint.bodyReader()
            try processor.restoreState(from: &reader, layout: metadata.stateLayout, positions: positions)
            return metadata
        }
        guard let restored else { return nil }
        let metadata = restored.metadata
        lastWrittenWallMilliseconds = metadata.writtenAtMilliseconds
        messagesAtLastCheckpoint = 0
        logger.info("restored checkpoint", metadata: [
            "file": "\((restored.path as NSString).lastPathComponent)",
            "applied": "\(metadata.appliedEvents)", "model_version": "\(metadata.modelVersion)",
            "denoiser_version": "\(metadata.generatorVersion)", "lineage": "\(store.lineage)",
            "offsets": "\(metadata.offsets.map { "\($0.partition)@\($0.offset)" }.joined(separator: ","))",
        ])
        status.update { $0.lastCheckpointSeconds = status.nowSeconds }
        return metadata
    }

    /// Whether a checkpoint is due: `every_events` messages or `every_seconds` since the last
    /// one (and not while a failed one waits for its retry time).
    func isDue(now: ContinuousClock.Instant, messages: Int) -> Bool {
        let pending = messages - messagesAtLastCheckpoint
        guard pending > 0 else { return false }
        if let retryAt, now < retryAt { return false }
        return pending >= policy.everyEvents || now - lastWritten >= .seconds(fractional: policy.everySeconds)
    }

    func hasPendingMessages(_ messages: Int) -> Bool { messages > messagesAtLastCheckpoint }

    /// Writes a checkpoint now. Returns false when it was postponed (outputs not settled within
    /// `flushTimeout`, or the file could not be written); throws only when an output failure
    /// must stop the service.
    ///
    /// The body goes to a temporary file while the state is held still (so it agrees with the
    /// positions, and is never copied whole in memory); the file takes its name only after the
    /// outputs settled. A checkpoint given up on the way is deleted. The header's time is the
    /// capture's: the moment the state is from.
    @discardableResult
    func write(_ processor: some CheckpointSource, messages: Int, flushTimeout: Duration, now: ContinuousClock.Instant = .now) throws -> Bool {
        let started = ContinuousClock.now
        let written = Int64(Date().timeIntervalSince1970 * 1_000)
        let captured: CheckpointCapture
        let pending: PendingCheckpoint
        do {
            (captured, pending) = try processor.captureState { capture, writeBody in
                let metadata = CheckpointMetadata(
                    stateLayout: OnlineRecommender.stateLayoutVersion, sequence: 0, writtenAtMilliseconds: written, identity: identity,
                    offsets: capture.positions.filter { $0.key.topic == identity.topic }
                        .map { CheckpointMetadata.PartitionOffset(partition: $0.key.partition, offset: $0.value) }
                        .sorted { $0.partition < $1.partition },
                    appliedEvents: capture.applied, modelVersion: capture.modelVersion, generatorVersion: capture.generatorVersion,
                    sampler: processor.samplerName, dimension: capture.dimension)
                return (capture, try store.begin(metadata: metadata, writeBody: writeBody))
            }
        } catch {
            postpone("\(error)", now: now)
            return false
        }
        // Deletes the temporary file unless it was committed (any early return or throw below),
        // and keeps the users of a changelog write that did not happen changed for the next one.
        var changelogWritten = false
        defer {
            pending.abandon()
            if !changelogWritten { processor.discardChangelog(of: captured) }
        }
        do {
            try processor.settleOutputs(timeout: flushTimeout)
        } catch let error as KafkaError where error.kind == .flushTimedOut {
            postpone("outputs are not delivered yet (\(error.message))", now: now)
            status.update {
                $0.brokerReachable = false
                $0.brokerProblem = "outputs not delivered within \(flushTimeout)"
            }
            metrics.brokerUp.record(0)
            return false
        }
        do {
            try processor.writeChangelog(of: captured)
            changelogWritten = true
        } catch {
            postpone("the users' changelog was not written (\(error))", now: now)
            return false
        }
        let path: String
        do {
            path = try store.commit(pending)
        } catch {
            postpone("\(error)", now: now)
            return false
        }
        consecutiveFailures = 0
        retryAt = nil
        lastWritten = now
        lastWrittenWallMilliseconds = written
        messagesAtLastCheckpoint = messages
        status.update {
            $0.lastCheckpointSeconds = status.nowSeconds
            $0.messagesSinceCheckpoint = 0
        }
        metrics.checkpoints.increment()
        metrics.checkpointDuration.record(ContinuousClock.now - started)
        logger.debug("checkpoint written", metadata: ["file": "\((path as NSString).lastPathComponent)", "bytes": "\(pending.bodyLength)",
                                                      "applied": "\(captured.applied)"])
        do {
            try processor.commitCheckpointed(captured.positions)
        } catch {
            // The checkpoint holds the positions; the group's copy only shows lag to operators.
            logger.warning("commit after checkpoint failed (the checkpoint is intact): \(error)")
        }
        return true
    }

    func noteMessages(_ messages: Int) {
        let pending = messages - messagesAtLastCheckpoint
        status.update { $0.messagesSinceCheckpoint = pending }
    }

    /// Seconds since the newest checkpoint was written (wall clock), or nil before the first.
    func ageSeconds() -> Double? {
        lastWrittenWallMilliseconds.map { max(0, Date().timeIntervalSince1970 - Double($0) / 1_000) }
    }

    /// The wait before retrying after the n-th failure in a row: 1, 2, 4 … s, at most 30 s.
    static func backoff(afterFailures failures: Int) -> Duration {
        .milliseconds(Int64(min(30_000, 500 * (1 << min(failures, 10)))))
    }

    private func postpone(_ reason: String, now: ContinuousClock.Instant) {
        consecutiveFailures += 1
        let backoff = Self.backoff(afterFailures: consecutiveFailures)
        retryAt = now + backoff
        metrics.checkpointFailures.increment()
        logger.warning("checkpoint postponed, retrying in \(backoff): \(reason)")
    }
}
