import CausalRecCore
@testable import CausalRecPipeline
import Foundation
import Kafka
import Logging
import Synchronization
import CausalRecTestSupport
import Testing

/// The service's promises about order, tested in memory: outputs go out in input order, every
/// output is settled before the commit that covers its input, a checkpoint's positions are
/// committed only after the file holding them is written, and a revoked partition is finished
/// (checkpoint, commit) before it is handed over. The Kafka clients are replaced by doubles that
/// write what they are asked into one log.
@Suite("Stream processing order, with in-memory doubles")
struct MessageProcessorTests {
    struct Harness {
        let log = CallLog()
        let producer: LoggingProducer
        let committer: LoggingCommitter
        let processor: MessageProcessor
        let counters = ProcessingCounters()
        let metrics = ServiceMetrics()
        let status = ServiceStatus()

        init(recommender: RecommenderConfiguration = RecommenderConfiguration(),
             wallClock: @escaping () -> Int64 = MessageProcessor.systemMilliseconds)
        {
            producer = LoggingProducer(log: log)
            committer = LoggingCommitter(log: log)
            let configuration = PipelineConfiguration()
            let logger = Logger(label: "order")
            let sender = OutputSender(producer: producer, topics: configuration.topics, deadLetterLimits: .init(), metrics: metrics,
                                      logger: logger)
            processor = MessageProcessor(live: LiveState(configuration: recommender), samplerName: "random",
                                        decoder: EventDecoder(), sender: sender, topics: configuration.topics, committer: committer,
                                        health: BrokerHealth(status: status, metrics: metrics, logger: logger),
                                        counters: counters, metrics: metrics, maxMessages: nil, logger: logger, wallClock: wallClock)
        }

        static let partition = KafkaTopicPartition(topic: "events", partition: 0)

        /// A request, a malformed message, an impression, another request.
        static let messages = [
            TestMessage(offset: 0, #"{"type":"request","user":"u1","ts":1700000000000}"#),
            TestMessage(offset: 1, #"{"type":"click","user":"#),
            TestMessage(offset: 2, #"{"type":"impression","user":"u1","items":["a","b"],"ts":1700000000001}"#),
            TestMessage(offset: 3, #"{"type":"request","user":"u2","ts":1700000000002}"#),
        ]

        /// The consumer's side of the loop over this harness's processor.
        func consumerHandler(checkpointer: Checkpointer) -> ConsumerCallbacks {
            let logger = Logger(label: "order")
            return ConsumerCallbacks(processor: processor, checkpointer: checkpointer, counters: counters,
                                         health: BrokerHealth(status: status, metrics: metrics, logger: logger),
                                         status: status, checkpointFlushTimeout: .seconds(1), logger: logger)
        }

        func checkpointer(directory: String, everyEvents: Int = 100, everySeconds: Double = 60, now: ContinuousClock.Instant) throws -> Checkpointer {
            var policy = PipelineConfiguration.Checkpointing()
            policy.everyEvents = everyEvents
            policy.everySeconds = everySeconds
            let store = try CheckpointStore(directory: directory, keep: 3, logger: Logger(label: "order"))
            return Checkpointer(store: store, identity: CheckpointIdentity(brokers: ["b:1"], clusterID: "c", topic: "events", group: "g"),
                                policy: policy, status: status, metrics: metrics, logger: Logger(label: "order"), now: now)
        }
    }

    static func temporaryDirectory() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("order-\(UUID().uuidString)").path
    }

    @Test("the ledger: a position per partition, only moved positions are committed, a revoke forgets what the group has")
    func ledger() {
        let first = KafkaTopicPartition(topic: "events", partition: 0)
        let second = KafkaTopicPartition(topic: "events", partition: 1)
        var ledger = OffsetLedger()
        ledger.processed(first, offset: 4)
        ledger.processed(second, offset: 9)
        #expect(ledger.next == [first: 5, second: 10])
        #expect(ledger.uncommitted(in: [first]).map(\.offset) == [5])
        ledger.markCommitted(ledger.uncommitted(in: [first, second]))
        #expect(ledger.uncommitted(in: [first, second]).isEmpty)
        ledger.processed(first, offset: 5)
        #expect(ledger.uncommitted(in: [first, second]).map(\.offset) == [6])
        // After a revoke the group's offset may move on without us: the next commit names it again.
        ledger.forgetCommitted([second])
        #expect(ledger.uncommitted(in: [second]).map(\.offset) == [10])
        #expect(ledger.next[second] == 10, "the state still holds the partition's events")
        #expect(OffsetLedger(restoring: [first: 3]).uncommitted(in: [first]).map(\.offset) == [3])
    }

    @Test("outputs go out in input order, and every one is settled before the commit that covers its input")
    func publishThenCommit() throws {
        let harness = Harness()
        _ = harness.processor.assign([Harness.partition])
        try harness.processor.process(Harness.messages)
        try harness.processor.commit(flushTimeout: .seconds(1))
        #expect(harness.log.calls == ["send recommendations", "send events.dlq", "send recommendations", "flush", "commit 0@4"])
        #expect(harness.counters.deadLettered.load(ordering: .relaxed) == 1)
        #expect(harness.counters.recommendationsPublished.load(ordering: .relaxed) == 2)
        // Nothing new: no second commit.
        try harness.processor.commit(flushTimeout: .seconds(1))
        #expect(harness.log.calls.filter { $0.hasPrefix("commit") }.count == 1)
    }

    @Test("an event the event clock holds back is applied, and counted for the progress line")
    func heldBackCounted() throws {
        let start: Int64 = 1_700_000_000_000
        let harness = Harness(wallClock: { start + 86_400_000 })
        _ = harness.processor.assign([Harness.partition])
        var first = TestMessage(offset: 0, #"{"type":"impression","user":"a","items":["A"],"ts":\#(start)}"#)
        first.timestampMilliseconds = start
        // Two hours after the only event so far, from one source (its broker timestamp agrees, so it
        // is not dead-lettered): applied at the clock's time.
        var jump = TestMessage(offset: 1, #"{"type":"impression","user":"b","items":["B"],"ts":\#(start + 7_200_000)}"#)
        jump.timestampMilliseconds = start + 7_200_000
        try harness.processor.process([first, jump])
        #expect(harness.counters.deadLettered.load(ordering: .relaxed) == 0)
        #expect(harness.counters.messages.load(ordering: .relaxed) == 2)
        #expect(harness.counters.heldBack.load(ordering: .relaxed) == 1)
    }

    @Test("an event ahead of the consumer's clock is dead-lettered even when its broker timestamp agrees with it")
    func aheadOfTheConsumersClock() throws {
        let now: Int64 = 1_700_000_000_000
        let harness = Harness(wallClock: { now })
        _ = harness.processor.assign([Harness.partition])
        let ahead = now + 23 * 3_600_000
        var forged = TestMessage(offset: 0, #"{"type":"impression","user":"f","items":["Z"],"ts":\#(ahead)}"#)
        forged.timestampMilliseconds = ahead
        var untimed = TestMessage(offset: 1, #"{"type":"impression","user":"g","items":["Z"]}"#)
        untimed.timestampMilliseconds = ahead
        var slightlyAhead = TestMessage(offset: 2, #"{"type":"impression","user":"h","items":["A"],"ts":\#(now + 300_000)}"#)
        slightlyAhead.timestampMilliseconds = now
        let farAhead = TestMessage(offset: 3, #"{"type":"impression","user":"h","items":["Z"],"ts":99000000000000}"#)
        try harness.processor.process([forged, untimed, slightlyAhead, farAhead])
        #expect(harness.log.calls == ["send events.dlq", "send events.dlq", "send events.dlq"])
        #expect(harness.counters.deadLettered.load(ordering: .relaxed) == 3)
        let applied = harness.processor.live.withExclusiveAccess { $0.recommender.applied.impressions }
        #expect(applied == 1)
        let exposition = String(decoding: harness.metrics.exposition(), as: UTF8.self)
        #expect(exposition.contains("causalrec_future_events_total 3"))
    }

    @Test("near a row limit: the rows gauge, evictions by reason, and a warning in /ready that goes when the rows do")
    func rowLimitWarning() throws {
        var recommender = RecommenderConfiguration()
        recommender.retention.maxUsers = 10
        let harness = Harness(recommender: recommender)
        _ = harness.processor.assign([Harness.partition])
        let clicks = (0..<15).map {
            TestMessage(offset: Int64($0), #"{"type":"click","user":"u\#($0)","item":"i","ts":\#(1_700_000_000_000 + $0)}"#)
        }
        try harness.processor.process(clicks[..<8])
        #expect(harness.status.snapshot.warnings.isEmpty)
        try harness.processor.process(clicks[8...])
        let warnings = harness.status.snapshot.warnings
        #expect(warnings == ["users rows near the limit: 10 of retention.max_users 10 (100 %); the least recently seen users are evicted"])
        let exposition = String(decoding: harness.metrics.exposition(), as: UTF8.self)
        #expect(exposition.contains(#"causalrec_rows{kind="user"} 10"#))
        #expect(exposition.contains(#"causalrec_rows{kind="item"} 1"#))
        #expect(exposition.contains(#"causalrec_rows_evicted_total{kind="user",reason="limit"} 5"#))
        let routes = HTTPRoutes(metrics: harness.metrics, status: harness.status, live: harness.processor.live, maxK: 10, samplerName: "random")
        harness.status.update { $0.assignedPartitions = 1 }
        let ready = routes.reply(method: "GET", uri: "/ready")
        #expect(ready.status == 200)
        #expect(String(decoding: ready.body, as: UTF8.self) == #"{"ready":true,"warnings":["\#(warnings[0])"]}"#)
        // Forgetting users takes the table below 90 %: the warning goes.
        try harness.processor.process([TestMessage(offset: 15, #"{"type":"forget","user":"u14"}"#),
                                       TestMessage(offset: 16, #"{"type":"forget","user":"u13"}"#)])
        #expect(harness.status.snapshot.warnings.isEmpty)
        #expect(String(decoding: routes.reply(method: "GET", uri: "/ready").body, as: UTF8.self) == #"{"ready":true}"#)
        let after = String(decoding: harness.metrics.exposition(), as: UTF8.self)
        #expect(after.contains(#"causalrec_rows_evicted_total{kind="user",reason="idle_or_forget"} 2"#))
    }

    @Test("outputs that cannot be settled in time: nothing is committed, and the next commit covers everything")
    func flushTimeoutCommitsNothing() throws {
        let harness = Harness()
        _ = harness.processor.assign([Harness.partition])
        try harness.processor.process(Harness.messages)
        harness.producer.flushTimesOut = true
        #expect(throws: KafkaError.self) { try harness.processor.commit(flushTimeout: .milliseconds(10)) }
        #expect(harness.committer.committed.isEmpty)
        harness.producer.flushTimesOut = false
        try harness.processor.commit(flushTimeout: .seconds(1))
        #expect(harness.committer.committed.map(\.offset) == [4])
    }

    @Test("checkpoint scheduling: due by events or by time, postponed with a growing backoff, then back to normal")
    func checkpointScheduling() throws {
        let harness = Harness()
        let directory = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let start = ContinuousClock.now
        let checkpointer = try harness.checkpointer(directory: directory, everyEvents: 3, everySeconds: 10, now: start)
        _ = harness.processor.assign([Harness.partition])
        #expect(!checkpointer.isDue(now: start + .seconds(100), messages: 0), "nothing to save")
        #expect(!checkpointer.isDue(now: start + .seconds(1), messages: 2))
        #expect(checkpointer.isDue(now: start + .seconds(1), messages: 3), "due by events")
        #expect(checkpointer.isDue(now: start + .seconds(11), messages: 1), "due by time")

        // Outputs that cannot be delivered postpone it: 1 s, then 2 s, then 4 s.
        try harness.processor.process(Harness.messages)
        harness.producer.flushTimesOut = true
        var now = start + .seconds(11)
        for expected in [1, 2, 4] {
            #expect(try !checkpointer.write(harness.processor, messages: 4, flushTimeout: .milliseconds(10), now: now))
            #expect(checkpointer.retryAt == now + .seconds(expected))
            #expect(!checkpointer.isDue(now: now + .milliseconds(expected * 1_000 - 1), messages: 4))
            now = now + .seconds(expected)
            #expect(checkpointer.isDue(now: now, messages: 4))
        }
        #expect(harness.status.snapshot.brokerReachable == false)
        #expect(checkpointer.store.files().isEmpty)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".tmp") }
        #expect(leftovers.isEmpty, "a postponed checkpoint left its temporary file behind")

        // Once outputs flow: written, the backoff forgotten, not due again until new events or time.
        harness.producer.flushTimesOut = false
        #expect(try checkpointer.write(harness.processor, messages: 4, flushTimeout: .seconds(1), now: now))
        #expect(checkpointer.consecutiveFailures == 0 && checkpointer.retryAt == nil)
        #expect(!checkpointer.isDue(now: now + .seconds(5), messages: 4))
        #expect(checkpointer.isDue(now: now + .seconds(10), messages: 5))
        #expect(checkpointer.store.files().count == 1)
    }

    @Test("a checkpoint settles outputs, then writes the file, then commits exactly the positions it holds")
    func checkpointThenCommit() throws {
        let harness = Harness()
        let directory = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let checkpointer = try harness.checkpointer(directory: directory, now: .now)
        _ = harness.processor.assign([Harness.partition])
        try harness.processor.process(Harness.messages)
        var filesAtCommit: Int?
        harness.committer.onCommit = { filesAtCommit = checkpointer.store.files().count }
        #expect(try checkpointer.write(harness.processor, messages: 4, flushTimeout: .seconds(1), now: .now))
        let calls = harness.log.calls
        #expect(calls.suffix(2) == ["flush", "commit 0@4"], "\(calls)")
        #expect(filesAtCommit == 1, "the positions were committed before the checkpoint holding them was written")
        let file = try #require(checkpointer.store.files().first)
        let contents = try CheckpointFile.decode(Array(try Data(contentsOf: URL(fileURLWithPath: file.path))))
        #expect(contents.metadata.offsets == [.init(partition: 0, offset: 4)])
        #expect(contents.metadata.appliedEvents == 3)
    }

    @Test("after a message fails (queue full on 3 of 5), nothing later is applied, and a revoke neither checkpoints nor commits")
    func failedMessageStopsTheProcessor() throws {
        let harness = Harness()
        let directory = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let checkpointer = try harness.checkpointer(directory: directory, now: .now)
        let handler = harness.consumerHandler(checkpointer: checkpointer)
        _ = handler.partitionsAssigned([Harness.partition])
        let requests = (0..<8).map { TestMessage(offset: Int64($0), #"{"type":"request","user":"u\#($0)","ts":\#(1_700_000_000_000 + $0)}"#) }
        harness.producer.queueFullAt = [3]
        #expect(throws: KafkaError.self) { try harness.processor.process(requests[..<5]) }
        // The same poll hands the next batch over, then the partition is revoked.
        #expect(throws: MessageProcessorStopped.self) { try harness.processor.process(requests[5...]) }
        handler.partitionsWillBeRevoked([Harness.partition], lost: false)
        #expect(harness.log.calls == ["send recommendations", "send recommendations"], "\(harness.log.calls)")
        #expect(harness.committer.committed.isEmpty)
        #expect(checkpointer.store.files().isEmpty)
        // Message 3 was applied (its answer was not sent); nothing after it was.
        let applied = harness.processor.live.withExclusiveAccess { $0.recommender.applied.requests }
        #expect(applied == 3)
        // Neither a periodic nor a final checkpoint writes that state.
        #expect(try !checkpointer.write(harness.processor, messages: 8, flushTimeout: .seconds(1), now: .now))
        #expect(checkpointer.store.files().isEmpty)
        #expect(throws: MessageProcessorStopped.self) { try harness.processor.commit(flushTimeout: .seconds(1)) }
    }

    @Test("a revoked partition is finished before it is handed over: checkpoint, commit, then forgotten")
    func revoke() throws {
        let harness = Harness()
        let directory = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let checkpointer = try harness.checkpointer(directory: directory, now: .now)
        let handler = harness.consumerHandler(checkpointer: checkpointer)
        let starts = handler.partitionsAssigned([Harness.partition])
        #expect(starts.isEmpty, "a fresh state starts at the group's committed offsets")
        #expect(harness.status.snapshot.assignedPartitions == 1)
        try harness.processor.process(Harness.messages)
        var ownedAtCommit: Set<KafkaTopicPartition> = []
        harness.committer.onCommit = { ownedAtCommit = harness.processor.assignedPartitions }
        handler.partitionsWillBeRevoked([Harness.partition], lost: false)
        #expect(harness.log.calls.suffix(2) == ["flush", "commit 0@4"], "\(harness.log.calls)")
        #expect(ownedAtCommit == [Harness.partition], "the partition was let go before its offsets were committed")
        #expect(checkpointer.store.files().count == 1)
        #expect(harness.status.snapshot.assignedPartitions == 0)
        // Assigned again: the state's own position wins over whatever the group committed since.
        #expect(handler.partitionsAssigned([Harness.partition]) == [Harness.partition: 4])
    }
}
