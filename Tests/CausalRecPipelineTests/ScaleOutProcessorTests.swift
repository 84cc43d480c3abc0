import CausalRecCore
@testable import CausalRecPipeline
import CausalRecTestSupport
import Foundation
import Kafka
import Logging
import Testing

/// Several stream processors in one group, over in-memory clients and one in-memory users'
/// changelog: partitions change owners at a revoke, when an owner dies, and when an instance
/// restarts from its own checkpoint, and every user ends with exactly the stream's events.
@Suite("Stream processors handing partitions over through the users' changelog")
struct ScaleOutProcessorTests {
    /// The hand-over tests' stream as input messages, with a malformed message every 97th offset.
    static let messages = PartitionedStream.two.messages

    final class Member {
        let processor: MessageProcessor
        let callbacks: ConsumerCallbacks
        let checkpointer: Checkpointer
        let counters = ProcessingCounters()
        /// The input this member reads.
        let stream: PartitionedStream

        /// `deltas`: the members share items through this log (else each keeps its own).
        init(_ name: String, log: InMemoryChangelog, directory: String, retention: RetentionConfiguration = RetentionConfiguration(),
             deltas: InMemoryItemDeltaLog? = nil, snapshots: InMemoryItemDeltaLog? = nil, stream: PartitionedStream = .two) throws
        {
            self.stream = stream
            var recommender = RecommenderConfiguration()
            recommender.sharesItems = deltas != nil
            recommender.retention = retention
            recommender.model.dimension = PartitionHandoverTests.dimension
            recommender.model.itemInitialization = .id
            recommender.trainingBatchSize = 16
            let logger = Logger(label: "scale-out")
            let metrics = ServiceMetrics()
            let status = ServiceStatus()
            let configuration = PipelineConfiguration()
            let sender = OutputSender(producer: LoggingProducer(log: CallLog()), topics: configuration.topics, deadLetterLimits: .init(),
                                      metrics: metrics, logger: logger)
            let health = BrokerHealth(status: status, metrics: metrics, logger: logger)
            let ownership = PartitionOwnership(handover: PartitionHandover(instance: name, log: log, dimension: PartitionHandoverTests.dimension),
                                               inputPartitions: stream.partitions.count, logger: logger)
            processor = MessageProcessor(live: LiveState(configuration: recommender), samplerName: "random", decoder: EventDecoder(),
                                         sender: sender, topics: configuration.topics, committer: LoggingCommitter(log: CallLog()),
                                         health: health, counters: counters, metrics: metrics, maxMessages: nil, logger: logger,
                                         ownership: ownership,
                                         itemSync: deltas.map {
                                             ItemSync(instance: name, log: $0, dimension: PartitionHandoverTests.dimension, snapshots: snapshots,
                                                      snapshotIntervalMilliseconds: 1, logger: logger)
                                         })
            let store = try CheckpointStore(directory: directory, keep: 3, logger: logger)
            checkpointer = Checkpointer(store: store, identity: CheckpointIdentity(brokers: ["b:1"], clusterID: "c", topic: "events", group: "g"),
                                        policy: PipelineConfiguration.Checkpointing(), status: status, metrics: metrics, logger: logger)
            callbacks = ConsumerCallbacks(processor: processor, checkpointer: checkpointer, counters: counters, health: health, status: status,
                                          checkpointFlushTimeout: .seconds(1), logger: logger)
        }

        static func topicPartition(_ partition: Int32) -> KafkaTopicPartition { KafkaTopicPartition(topic: "events", partition: partition) }

        /// The starts the rebalance hook returns (nil: the group's committed offset, 0 here).
        func assign(_ partitions: [Int32]) -> [Int32: Int64] {
            let starts = callbacks.partitionsAssigned(partitions.map(Self.topicPartition))
            return Dictionary(uniqueKeysWithValues: partitions.map { ($0, starts[Self.topicPartition($0)] ?? 0) })
        }

        func feed(_ partition: Int32, from start: Int64, until end: Int) throws {
            let messages = stream.messages[partition]!
            guard Int(start) < end else { return }
            for batch in stride(from: Int(start), to: end, by: 50) {
                try callbacks.consume(messages: messages[batch..<min(batch + 50, end)])
            }
        }

        func checkpoint() throws {
            #expect(try checkpointer.write(processor, messages: counters.messages.load(ordering: .relaxed), flushTimeout: .seconds(1)))
        }

        func revoke(_ partitions: [Int32]) {
            callbacks.partitionsWillBeRevoked(partitions.map(Self.topicPartition), lost: false)
        }

        /// Positives per training step now.
        var batchSize: Int { processor.live.withExclusiveAccess { $0.recommender.training.batchSize } }

        func users(of partition: Int32) -> [String: UserStateRecord] {
            processor.live.withExclusiveAccess { engine in
                Dictionary(uniqueKeysWithValues: engine.recommender.exportUsers(stream.users(of: partition)).map { ($0.user, $0) })
            }
        }
    }

    static func length(_ partition: Int32, _ share: Double) -> Int { Int(Double(messages[partition]!.count) * share) }

    /// Every user of `partition` in `owner` holds each of the stream's clicks exactly once, and
    /// the partition's applied count is its number of valid messages.
    static func check(_ partition: Int32, owner: Member) {
        var clicks: [String: [String]] = [:]
        for case let .click(click) in owner.stream.events[partition]! { clicks[click.user, default: []].append(click.item) }
        let records = owner.users(of: partition)
        var mismatches = 0
        for (user, items) in clicks {
            let positives = ((records[user]?.pendingPositives ?? []) + (records[user]?.recentPositives ?? [])).map(\.item)
            if positives.sorted() != items.sorted() || Set(records[user]?.clickedItems ?? []) != Set(items) { mismatches += 1 }
        }
        #expect(mismatches == 0, "partition \(partition): \(mismatches) of \(clicks.count) users differ from the stream")
        let applied = owner.processor.ownership!.ledger.applied[partition] ?? AppliedEventCounts()
        #expect(applied.total + applied.forgets == owner.stream.events[partition]!.count)
    }

    /// Every item's click count in `owner` (which owns every partition now) is the stream's, as an
    /// uninterrupted single recommender counts it.
    static func checkItemCounts(owner: Member) {
        var configuration = RecommenderConfiguration()
        configuration.model.dimension = PartitionHandoverTests.dimension
        let reference = OnlineRecommender(configuration: configuration)
        for partition in owner.stream.partitions {
            for event in owner.stream.events[partition]! { reference.step(event, fallbackTimestamp: 0) }
        }
        let mismatches = owner.processor.live.withExclusiveAccess { engine in
            reference.items.identifiers.filter { item in
                guard let row = reference.itemRow(ofKnown: item) else { return false }
                let count = engine.recommender.itemRow(ofKnown: item).map { engine.recommender.history.clickCounts[Int($0)] }
                return count != reference.history.clickCounts[Int(row)]
            }.count
        }
        #expect(mismatches == 0, "\(mismatches) of \(reference.items.activeCount) items have a click count other than the stream's")
    }

    static func directory() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("scale-out-\(UUID().uuidString)").path
    }

    @Test("a revoke in order: the old owner checkpoints and lets the users go, the new one starts at the flushed position")
    func revokeInOrder() throws {
        let log = InMemoryChangelog()
        let a = try Member("A", log: log, directory: Self.directory())
        let starts = a.assign([0, 1])
        #expect(starts == [0: 0, 1: 0])
        for partition: Int32 in [0, 1] { try a.feed(partition, from: 0, until: Self.length(partition, 0.6)) }
        #expect(a.batchSize == 16)
        a.revoke([1])
        #expect(a.users(of: 1).isEmpty)
        // Half the partitions, half the group's batch per step.
        #expect(a.batchSize == 8)
        let b = try Member("B", log: log, directory: Self.directory())
        let moved = b.assign([1])
        #expect(b.batchSize == 8)
        #expect(moved[1] == Int64(Self.length(1, 0.6)))
        try b.feed(1, from: moved[1]!, until: Self.messages[1]!.count)
        try a.feed(0, from: Int64(Self.length(0, 0.6)), until: Self.messages[0]!.count)
        Self.check(0, owner: a)
        Self.check(1, owner: b)
    }

    @Test("the owner dies after a checkpoint and more events: the next owner re-reads from the checkpoint's flush, once")
    func ownerDies() throws {
        let log = InMemoryChangelog()
        let a = try Member("A", log: log, directory: Self.directory())
        _ = a.assign([0, 1])
        for partition: Int32 in [0, 1] { try a.feed(partition, from: 0, until: Self.length(partition, 0.5)) }
        try a.checkpoint()
        for partition: Int32 in [0, 1] { try a.feed(partition, from: Int64(Self.length(partition, 0.5)), until: Self.length(partition, 0.7)) }
        let b = try Member("B", log: log, directory: Self.directory())
        let starts = b.assign([0, 1])
        #expect(b.processor.ownership!.keptLocal.isEmpty)
        for partition: Int32 in [0, 1] {
            #expect(starts[partition] == Int64(Self.length(partition, 0.5)))
            try b.feed(partition, from: starts[partition]!, until: Self.messages[partition]!.count)
            Self.check(partition, owner: b)
        }
    }

    @Test("an instance restarted from its own checkpoint keeps its local state and continues bit for bit")
    func restartKeepsLocalState() throws {
        let log = InMemoryChangelog()
        let directory = Self.directory()
        let a = try Member("A", log: log, directory: directory)
        _ = a.assign([0, 1])
        for partition: Int32 in [0, 1] { try a.feed(partition, from: 0, until: Self.length(partition, 0.5)) }
        try a.checkpoint()
        // The same instance restarted: its checkpoint files in a directory of its own (the first
        // one stays locked while `a` runs on beside it, for the comparison).
        let copy = Self.directory()
        try FileManager.default.createDirectory(atPath: copy, withIntermediateDirectories: true)
        for file in try FileManager.default.contentsOfDirectory(atPath: directory) where file != CheckpointStore.lockName {
            try FileManager.default.copyItem(atPath: directory + "/" + file, toPath: copy + "/" + file)
        }
        let again = try Member("A", log: log, directory: copy)
        #expect(try again.checkpointer.restore(into: again.processor) != nil)
        let starts = again.assign([0, 1])
        #expect(again.processor.ownership!.keptLocal == [0, 1])
        for partition: Int32 in [0, 1] {
            #expect(starts[partition] == Int64(Self.length(partition, 0.5)))
            try a.feed(partition, from: starts[partition]!, until: Self.messages[partition]!.count)
            try again.feed(partition, from: starts[partition]!, until: Self.messages[partition]!.count)
            Self.check(partition, owner: again)
            #expect(again.users(of: partition) == a.users(of: partition))
        }
    }

    @Test("users given back by idle eviction leave the changelog: the next owner does not bring them back")
    func evictedUsersStayGone() throws {
        let log = InMemoryChangelog()
        var retention = RetentionConfiguration()
        retention.userIdleSeconds = 60
        retention.sweepEvery = 100
        let a = try Member("A", log: log, directory: Self.directory(), retention: retention)
        _ = a.assign([0])
        let half = Self.length(0, 0.5)
        try a.feed(0, from: 0, until: half)
        try a.checkpoint()
        let flushed = Set(a.users(of: 0).keys)
        // Then only one user is active, for five minutes of event time: everyone else goes idle
        // and is evicted, without an event of their own after the flush.
        let start = PartitionHandoverTests.stream[0]![half - 1].timestamp! + 1_000
        try a.callbacks.consume(messages: (0..<300).map { index in
            TestMessage(offset: Int64(half + index), #"{"type":"request","user":"keeper","ts":\#(start + Int64(index) * 1_000)}"#)
        })
        #expect(flushed.count > 10 && a.users(of: 0).isEmpty)
        a.revoke([0])
        let b = try Member("B", log: log, directory: Self.directory(), retention: retention)
        #expect(b.assign([0])[0] == Int64(half + 300))
        #expect(b.users(of: 0).isEmpty, "\(b.users(of: 0).count) evicted users came back")
    }

    @Test("a claim that cannot be published to the item deltas stops the processor before it applies an event of the partition")
    func unpublishedClaimStops() throws {
        let log = InMemoryChangelog()
        let deltas = InMemoryItemDeltaLog()
        let a = try Member("A", log: log, directory: Self.directory(), deltas: deltas)
        deltas.failNextAppends = 1
        _ = a.assign([0])
        // Counting without the claim in the log could count what an old owner counts again.
        #expect(a.processor.failure != nil)
        #expect(deltas.values.isEmpty)
        try? a.feed(0, from: 0, until: 200)
        #expect(a.users(of: 0).isEmpty)
        #expect((a.processor.ownership!.ledger.applied[0]?.total ?? 0) == 0)
    }
}
