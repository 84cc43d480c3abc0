import CausalRecCore
import CausalRecPipeline
import Foundation
import Kafka
import KafkaTestSupport
import Testing

/// Three `causalrec run` processes in one group on a real broker, with `scale_out.enabled`: they
/// join one after the other (partitions move by revoke), then the one holding most partitions is
/// killed with SIGKILL while it processes (its partitions move without a goodbye) and the rest of
/// the stream arrives. The survivors' final state is checked against the stream itself: events
/// applied per partition, every user's clicks and last-seen time, every item's click count and
/// exposure, every request answered and none naming an item its user had clicked, the item rows
/// alike on every instance and on a fresh one that only read the shared deltas.
@Suite("Several instances on a real broker (KAFKA_BOOTSTRAP)", .serialized, .enabled(if: RealBroker.bootstrap != nil, "KAFKA_BOOTSTRAP is not set"))
struct ScaleOutOnBrokerTests {
    var bootstrap: String { RealBroker.bootstrap! }
    static let partitions = 6
    static let firstPart = 15_000
    static let beforeKill = 5_000
    static let afterKill = 10_000
    static let halfLifeSeconds = 3_600.0

    static func writeConfig(_ path: String, group: String, topics: [String], deltasTopic: String? = nil, snapshotsTopic: String? = nil,
                            checkpointEvents: Int = 1_000, checkpointSeconds: Double = 1, model: [String] = [],
                            syncIntervalMilliseconds: Int = 1_000, snapshotIntervalMilliseconds: Int = 2_000, sections: String = "") throws
    {
        try """
        group_id: \(group)
        topics:
          events: \(topics[0])
          recommendations: \(topics[1])
          alerts: \(topics[2])
          dead_letter: \(topics[3])
          create: false
        kafka:
          session.timeout.ms: 6000
          heartbeat.interval.ms: 1000
          max.poll.interval.ms: 10000
        model:
          item_init: id
        \(model.map { "  \($0)" }.joined(separator: "\n"))
        exposure:
          half_life_seconds: \(Self.halfLifeSeconds)
        checkpoint:
          every_events: \(checkpointEvents)
          every_seconds: \(checkpointSeconds)
        scale_out:
          enabled: true
          sync_interval_ms: \(syncIntervalMilliseconds)
          snapshot_interval_ms: \(snapshotIntervalMilliseconds)
        \(deltasTopic.map { "  deltas_topic: \($0)" } ?? "")
        \(snapshotsTopic.map { "  snapshots_topic: \($0)" } ?? "")
        progress:
          interval_seconds: 0.2
        http:
          enabled: false
        \(sections)
        """.write(toFile: path, atomically: true, encoding: .utf8)
    }

    @Test("three instances: users move with their partition at each join and when the busiest is killed; items are shared")
    func threeInstances() throws {
        let suffix = TestKafka.uniqueName("scale")
        let group = "group-\(suffix)"
        let topics = ["events", "recommendations", "alerts", "dlq", "bootstrap-events"].map { "\($0)-\(suffix)" }
        let admin = try KafkaAdmin(bootstrapServers: bootstrap, logger: TestKafka.logger)
        try admin.createTopics(topics.enumerated().map { KafkaTopicSpecification(name: $0.element, partitions: $0.offset == 0 ? Self.partitions : 1) },
                               timeout: .seconds(30))
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("scale-\(suffix)").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        let config = root + "/pipeline.yaml"
        try Self.writeConfig(config, group: group, topics: topics)
        let environment = ["CAUSALREC_BROKERS": bootstrap]

        var simulatorConfiguration = SimulatorConfiguration()
        simulatorConfiguration.users = 600
        simulatorConfiguration.seed = 21
        simulatorConfiguration.requestProbability = 0.05
        var simulator = ClickSimulator(configuration: simulatorConfiguration)
        var stream = ScaleOutStream(halfLifeMilliseconds: Self.halfLifeSeconds * 1_000)
        try stream.produce(topics[0], count: Self.firstPart, bootstrap: bootstrap, simulator: &simulator)

        // Three instances join one after the other; each join moves partitions by revoke. The next
        // one starts once the group is settled (every partition owned, the newcomer's included):
        // tansu leaves a member that joins while a cooperative rebalance completes without
        // partitions, and never rebalances again for it.
        let names = ["a", "b", "c"]
        var instances: [ServiceProcess] = []
        defer {
            for instance in instances where instance.isRunning { instance.send(SIGKILL) }
            // The instances' logs, for a failure on CI: CAUSALREC_TEST_LOGS=directory.
            if let directory = ProcessInfo.processInfo.environment["CAUSALREC_TEST_LOGS"] {
                try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
                for (name, instance) in zip(names, instances) { try? instance.stderr.write(toFile: "\(directory)/\(suffix)-\(name).log", atomically: true, encoding: .utf8) }
            }
        }
        for name in names {
            instances.append(try ServiceProcess(arguments: ["run", "--config", config, "--checkpoint-dir", "\(root)/\(name)", "--idle-exit", "300",
                                                            "--dump-state", "\(root)/\(name).jsonl"],
                                                environment: environment))
            let settled = ScaleOutReading.waitUntilSettled(instances, partitions: Self.partitions)
            try #require(settled, "instance \(name) got no partitions in 90 s: \(instances.map { String($0.stderr.suffix(2_000)) })")
        }
        // All read the first part and checkpointed: nothing more read for 3 s.
        let produced = stream.valid + stream.malformed.count
        func settle(_ members: [ServiceProcess], reading total: Int, quietSeconds: Double) {
            var lastRead = -1
            var quietSince = Date()
            let deadline = Date().addingTimeInterval(240)
            while Date() < deadline {
                let read = members.reduce(0) { $0 + KillRecoveryTests.messagesRead($1.stderr) }
                if read != lastRead { (lastRead, quietSince) = (read, Date()) }
                let owned = members.map { ScaleOutReading.ownedPartitions($0.stderr) }
                if read >= total, Date().timeIntervalSince(quietSince) > quietSeconds, owned.allSatisfy({ !$0.isEmpty }),
                   owned.reduce(0, { $0 + $1.count }) == Self.partitions { return }
                Thread.sleep(forTimeInterval: 0.2)
            }
        }
        settle(instances, reading: produced, quietSeconds: 3)
        let owned = instances.map { ScaleOutReading.ownedPartitions($0.stderr) }
        #expect(owned.reduce(0) { $0 + $1.count } == Self.partitions, "owned before the kill: \(owned)")
        let victim = owned.indices.max { owned[$0].count < owned[$1].count }!
        let moved = owned[victim]

        // The busiest instance dies while it processes the next events; the rest arrive after.
        try stream.produce(topics[0], count: Self.beforeKill, bootstrap: bootstrap, simulator: &simulator)
        instances[victim].send(SIGKILL)
        let victimRead = KillRecoveryTests.messagesRead(instances[victim].waitForExit().stderr)
        let killedAt = stream.lastTimestamp
        try stream.produce(topics[0], count: Self.afterKill, bootstrap: bootstrap, simulator: &simulator)
        let survivors = names.indices.filter { $0 != victim }
        // The survivors own every partition and have read everything the killed one had not (and
        // what it read after its last flush again): they are stopped as a deploy stops them, and
        // write their state.
        settle(survivors.map { instances[$0] }, reading: stream.valid + stream.malformed.count - victimRead, quietSeconds: 5)
        for index in survivors { instances[index].send(SIGTERM) }
        var dumps: [ScaleOutReading.Dump] = []
        var appliedBySurvivors = 0
        var heldBack = [ScaleOutReading.heldBack(instances[victim].stderr)]
        for index in survivors {
            let finished = instances[index].waitForExit(within: 120)
            heldBack.append(ScaleOutReading.heldBack(finished.stderr))
            #expect(finished.status == 0, "\(finished.stderr.suffix(3_000))")
            appliedBySurvivors = max(appliedBySurvivors, finished.applied ?? -1)
            dumps.append(try ScaleOutReading.Dump(path: "\(root)/\(names[index]).jsonl"))
        }

        // A fresh instance in another group that reads only the shared items — the latest snapshot
        // and the deltas after it — holds the same items.
        let bootstrapConfig = root + "/bootstrap.yaml"
        try Self.writeConfig(bootstrapConfig, group: "bootstrap-\(suffix)", topics: [topics[4], topics[1], topics[2], topics[3]],
                             deltasTopic: "\(group)-model-deltas", snapshotsTopic: "\(group)-model-snapshots")
        let fresh = try ServiceProcess(arguments: ["run", "--config", bootstrapConfig, "--checkpoint-dir", "\(root)/fresh", "--idle-exit", "5",
                                                   "--dump-state", "\(root)/fresh.jsonl"],
                                       environment: environment)
        let freshFinished = fresh.waitForExit(within: 90)
        #expect(freshFinished.status == 0, "\(freshFinished.stderr.suffix(3_000))")
        let freshDump = try ScaleOutReading.Dump(path: "\(root)/fresh.jsonl")
        if let directory = ProcessInfo.processInfo.environment["CAUSALREC_TEST_LOGS"] {
            try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            try? freshFinished.stderr.write(toFile: "\(directory)/\(suffix)-fresh.log", atomically: true, encoding: .utf8)
            for name in names + ["fresh"] { try? FileManager.default.copyItem(atPath: "\(root)/\(name).jsonl", toPath: "\(directory)/\(suffix)-\(name).jsonl") }
        }
        #expect(freshFinished.stderr.contains("items started from a snapshot"), "the fresh instance read every delta instead of a snapshot")

        // Events applied: per partition, the valid messages the partition holds.
        var validPerPartition: [Int32: Int] = [:]
        let planted = Set(stream.malformed)
        for message in try ScaleOutReading.readAll(topics[0], partitions: Self.partitions, bootstrap: bootstrap) where !planted.contains(message.value) {
            validPerPartition[message.partition, default: 0] += 1
        }
        var appliedMismatches: [String] = []
        for partition in 0..<Int32(Self.partitions) {
            let reported = dumps.compactMap { $0.applied[partition] }
            if reported.isEmpty || reported.contains(where: { $0 != validPerPartition[partition] ?? 0 }) {
                appliedMismatches.append("partition \(partition): \(reported) applied, \(validPerPartition[partition] ?? 0) valid")
            }
        }
        #expect(appliedMismatches.isEmpty, "\(appliedMismatches)")
        #expect(validPerPartition.values.reduce(0, +) == stream.valid)

        // Users: every user's clicks and last-seen time are the stream's, on whichever survivor holds them.
        var userMismatches: [String] = []
        var usersChecked = 0
        for (user, lastSeen) in stream.lastSeen {
            let held = dumps.compactMap { $0.users[user] }
            let expected = Set((stream.clicks[user] ?? []).map(\.item))
            if held.isEmpty { userMismatches.append("\(user): held by no survivor") }
            for state in held where Set(state.clicked) != expected || state.lastSeen != lastSeen {
                userMismatches.append("\(user): \(state.clicked.count) clicked (stream \(expected.count)), last seen \(state.lastSeen) (stream \(lastSeen))")
            }
            usersChecked += 1
        }
        #expect(userMismatches.isEmpty, "\(userMismatches.count) of \(usersChecked) users differ: \(userMismatches.prefix(5))")

        // Answers: every request answered, none naming an item clicked before it, many to moved users.
        let movedUsers = Set(dumps.flatMap { $0.users.filter { moved.contains($0.value.partition) }.map(\.key) })
        var answered: Set<String> = []
        var answers = 0
        var answersToMoved = 0
        var alreadyClicked = 0
        for message in try ScaleOutReading.readAll(topics[1], partitions: 1, bootstrap: bootstrap) {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(message.value)) as? [String: Any])
            let user = try #require(object["user"] as? String)
            let ts = try #require((object["ts"] as? NSNumber)?.int64Value)
            let items = try #require(object["items"] as? [[String: Any]]).compactMap { $0["item"] as? String }
            answers += 1
            answered.insert(ScaleOutStream.requestKey(user: user, ts: ts))
            if ts > killedAt && movedUsers.contains(user) { answersToMoved += 1 }
            if items.contains(where: stream.clickedBefore(user: user, ts: ts).contains) { alreadyClicked += 1 }
        }
        let unanswered = stream.requests.subtracting(answered).count
        #expect(unanswered == 0, "\(unanswered) of \(stream.requests.count) requests not answered")
        #expect(alreadyClicked == 0, "\(alreadyClicked) of \(answers) answers name an item the user had clicked")
        #expect(answersToMoved >= 50, "\(answersToMoved) answers to moved users after the kill")

        // Items: click counts and exposure are the stream's on every instance, rows alike everywhere.
        let clickCounts = stream.clickCounts
        let shares = stream.exposureShares
        var itemMismatches = 0
        var largestShareError = 0.0
        var worstShare = ""
        for (index, dump) in (dumps + [freshDump]).enumerated() {
            itemMismatches += clickCounts.filter { (dump.items[$0.key]?.clicks ?? 0) != $0.value }.count
            for (item, share) in shares {
                let held = dump.items[item]?.exposureShare ?? 0
                let error = abs(held - share) / share
                if error > largestShareError {
                    largestShareError = error
                    worstShare = "item \(item) in dump \(index) (survivors, then the fresh instance): \(held) vs the stream's \(share)"
                }
            }
        }
        #expect(itemMismatches == 0, "\(itemMismatches) item click counts differ from the stream's (\(clickCounts.count) items clicked)")
        #expect(largestShareError < 1e-6, "an exposure share differs from the stream's by \(largestShareError) relative: \(worstShare)")
        let survivorsAgree = dumps[0].rowDifference(from: dumps[1])
        let freshAgrees = dumps[0].rowDifference(from: freshDump)
        #expect(survivorsAgree.maximum <= 1e-4 && survivorsAgree.missing == 0, "survivors: \(survivorsAgree)")
        #expect(freshAgrees.maximum <= 1e-4 && freshAgrees.missing == 0, "fresh instance: \(freshAgrees)")

        // Every malformed message is in the dead-letter topic.
        let deadLetters = Set(try ScaleOutReading.readAll(topics[3], partitions: 1, bootstrap: bootstrap).map(\.value))
        #expect(planted.isSubset(of: deadLetters), "\(planted.subtracting(deadLetters).count) of \(planted.count) malformed messages missing from the DLQ")

        print("""
        scale-out, 3 instances on the broker: \(stream.valid) valid + \(stream.malformed.count) malformed messages over \(Self.partitions) partitions; \
        instance \(names[victim]) killed holding partitions \(moved.sorted()); applied (last survivor) \(appliedBySurvivors), \
        \(appliedMismatches.count) partitions differ; \(userMismatches.count) of \(usersChecked) users differ; \
        \(answers) answers to \(stream.requests.count) requests (\(unanswered) unanswered), \(answersToMoved) to moved users after the kill, \
        \(alreadyClicked) naming a clicked item; \(itemMismatches) item click counts differ (\(clickCounts.count) items), \
        exposure share error \(largestShareError) (events held back by the killed instance, then the survivors: \(heldBack)); item rows: survivors differ by \(survivorsAgree.maximum) over \(survivorsAgree.compared) items, \
        fresh instance by \(freshAgrees.maximum) over \(freshAgrees.compared); DLQ holds \(planted.intersection(deadLetters).count) of \(planted.count) planted
        """)
        let claims = survivors.flatMap { index in
            instances[index].stderr.split(separator: "\n").filter { $0.contains("partition claimed") }.map { line in
                let field = { (name: String) in line.range(of: "\(name)=").map { line[$0.upperBound...].prefix { !$0.isWhitespace } } ?? "" }
                return "users=\(field("users")) seconds=\(field("seconds").prefix(6))"
            }
        }
        let changelog = try ScaleOutReading.readAll("\(group)-users-changelog", partitions: Self.partitions, bootstrap: bootstrap)
        let deltas = try ScaleOutReading.readAll("\(group)-model-deltas", partitions: 1, bootstrap: bootstrap)
        print("""
        scale-out, 3 instances on the broker: claims by the survivors: \(claims.joined(separator: "; ")); \
        changelog \(changelog.count) records, \(changelog.reduce(0) { $0 + $1.value.count }) value bytes over \(Self.partitions) partitions; \
        deltas \(deltas.count) messages, \(deltas.reduce(0) { $0 + $1.value.count }) bytes
        """)
    }
}
