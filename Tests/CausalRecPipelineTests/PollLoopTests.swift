import CausalRecCore
@testable import CausalRecPipeline
import CausalRecTestSupport
import Foundation
import Kafka
import Logging
import Synchronization
import Testing

/// The poll loop's own order, in memory: an in-memory poller instead of the consumer, a logging
/// producer, a manual clock. Polling, the periodic commit, the idle exit and the shutdown
/// sequence (last checkpoint, group left, outputs settled, producer closed) run without a broker
/// and without waiting.
@Suite("The poll loop, with in-memory clients and a manual clock")
struct PollLoopTests {
    final class StopFlag: Sendable {
        let flag = Atomic(false)
    }

    struct Rig {
        let log = CallLog()
        let clock = ManualClock()
        let poller: InMemoryPoller
        let producer: LoggingProducer
        let loop: PollLoop
        let parts: ServiceAssembly
        let live: LiveState

        static let partition = KafkaTopicPartition(topic: "events", partition: 0)

        /// Batches of the processor tests' messages (a request, a malformed one, an impression, a request).
        static func batches(_ count: Int) -> [[TestMessage]] {
            var result: [[TestMessage]] = []
            for batch in 0..<count {
                let first = Int64(batch * 3)
                let request = TestMessage(offset: first, #"{"type":"request","user":"u1","ts":1700000000000}"#)
                let malformed = TestMessage(offset: first + 1, #"{"type":"click","user":"#)
                let impression = TestMessage(offset: first + 2, #"{"type":"impression","user":"u1","items":["a","b"],"ts":1700000000001}"#)
                result.append([request, malformed, impression])
            }
            return result
        }

        init(batches: [[TestMessage]], checkpointDirectory: String?, options: RunOptions = RunOptions(),
             configure: (inout PipelineConfiguration) -> Void = { _ in })
        {
            var configuration = PipelineConfiguration()
            configure(&configuration)
            let logger = Logger(label: "poll-loop")
            let metrics = ServiceMetrics()
            let status = ServiceStatus()
            let counters = ProcessingCounters()
            live = LiveState(configuration: configuration.recommender)
            poller = InMemoryPoller(log: log, partitions: [Self.partition], batches: batches)
            producer = LoggingProducer(log: log)
            let sender = OutputSender(producer: producer, topics: configuration.topics, deadLetterLimits: .init(), metrics: metrics,
                                      logger: logger)
            let health = BrokerHealth(status: status, metrics: metrics, logger: logger)
            let processor = MessageProcessor(live: live, samplerName: "random", decoder: EventDecoder(), sender: sender,
                                             topics: configuration.topics, committer: poller, health: health, counters: counters,
                                             metrics: metrics, maxMessages: options.maxMessages, logger: logger)
            let clock = clock
            let checkpointer = checkpointDirectory.map { directory in
                var policy = PipelineConfiguration.Checkpointing()
                policy.everyEvents = 1_000_000
                policy.everySeconds = 3_600
                let store = try! CheckpointStore(directory: directory, keep: 3, logger: logger)
                return Checkpointer(store: store, identity: CheckpointIdentity(brokers: ["b:1"], clusterID: "c", topic: "events", group: "g"),
                                    policy: policy, status: status, metrics: metrics, logger: logger, now: clock.now)
            }
            let handler = ConsumerCallbacks(processor: processor, checkpointer: checkpointer, counters: counters, health: health,
                                            status: status, checkpointFlushTimeout: .seconds(1), logger: logger, now: { clock.now })
            parts = ServiceAssembly(producer: producer, consumer: poller, sender: sender, health: health, processor: processor,
                                    checkpointer: checkpointer, handler: handler, options: options, logger: logger)
            loop = PollLoop(configuration: configuration, bootstrapServers: "memory", options: options, counters: counters,
                            metrics: metrics, status: status, live: live, logger: logger, now: { clock.now })
        }

        func run(stopAfterPolls polls: Int, advancingBy step: Duration = .milliseconds(100)) throws -> ProcessingOutcome {
            let stop = StopFlag()
            poller.afterPoll = { [clock] count in
                clock.advance(step)
                if count >= polls { stop.flag.store(true, ordering: .releasing) }
            }
            return try loop.run(parts, stop: stop.flag)
        }
    }

    @Test("at shutdown: the last checkpoint and its commit, then the group is left, the outputs settle, the producer closes")
    func shutdownOrder() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("poll-loop-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let rig = Rig(batches: Rig.batches(3), checkpointDirectory: directory)
        let outcome = try rig.run(stopAfterPolls: 5)
        #expect(outcome.reason == .shutdownRequested && outcome.messages == 9 && outcome.appliedEvents == 6)
        let calls = rig.log.calls
        #expect(Array(calls.prefix(2)) == ["subscribe events", "assigned"])
        // One checkpoint, at shutdown, holding all nine positions: its commit comes first.
        let commit = try #require(rig.log.index(of: "commit 0@9"))
        let revoked = try #require(rig.log.index(of: "revoked"))
        let close = try #require(rig.log.index(of: "consumer close"))
        let producerClose = try #require(rig.log.index(of: "producer close"))
        #expect(commit < revoked && revoked < close && close < producerClose, "\(calls)")
        #expect(rig.log.lastIndex(of: "flush")! < producerClose && rig.log.lastIndex(of: "flush")! > close, "outputs settle after the group is left")
        #expect(calls.filter { $0.hasPrefix("commit") } == ["commit 0@9"], "nothing pending at the revoke: no second commit")
        #expect(calls.last == "producer close")
        let newest = try #require(rig.parts.checkpointer?.store.files().last)
        let metadata = try CheckpointFile.decodeMetadata(CheckpointStore.readHeaderBytes(newest.path))
        #expect(metadata.appliedEvents == 6 && metadata.offsets.map(\.offset) == [9])
    }

    @Test("without checkpoints the loop commits at its interval by its own clock, and exits when idle")
    func periodicCommitAndIdleExit() throws {
        let rig = Rig(batches: Rig.batches(2), checkpointDirectory: nil, options: RunOptions(idleExit: .seconds(10))) {
            $0.checkpoint.enabled = false
            $0.consumer.commitIntervalMilliseconds = 5_000
        }
        // Two seconds per poll: both batches by the second poll, the commit due at the third
        // (6 s after the start), idle 10 s after the last message (the seventh poll).
        let outcome = try rig.run(stopAfterPolls: 1_000, advancingBy: .seconds(2))
        #expect(outcome.reason == .idle)
        #expect(rig.poller.polls == 7, "\(rig.poller.polls) polls")
        let calls = rig.log.calls
        let firstCommit = try #require(rig.log.index(of: "commit 0@6"))
        #expect(calls[..<firstCommit].filter { $0.hasPrefix("consumed") }.count == 2)
        #expect(calls.filter { $0.hasPrefix("commit") } == ["commit 0@6"], "nothing new after the first commit")
        #expect(calls.last == "producer close")
    }
}
