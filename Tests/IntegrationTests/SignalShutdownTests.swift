import CausalRecCore
import Foundation
import Kafka
import KafkaTestSupport
import Testing

@Suite("causalrec run stops cleanly on SIGTERM", .serialized, .enabled(if: RealBroker.bootstrap != nil, "KAFKA_BOOTSTRAP is not set"))
struct SignalShutdownTests {
    /// Starts `causalrec run`; `interrupt` decides when to send SIGTERM (nil: let it idle out).
    static func run(config: String, bootstrap: String, arguments: [String] = [],
                    interrupt: ((String) -> Bool)? = nil) throws -> ServiceProcess.Finished
    {
        let process = try ServiceProcess(arguments: ["run", "--config", config] + arguments,
                                         environment: ["CAUSALREC_BROKERS": bootstrap])
        if let interrupt {
            process.waitForLog(interrupt)
            process.send(SIGTERM)
        }
        return process.waitForExit()
    }

    @Test("SIGTERM mid-stream: exit 0, committed; a restart continues with exactly the rest")
    func sigtermThenRestart() throws {
        let bootstrap = try #require(RealBroker.bootstrap)
        guard ServiceProcess.binaryExists else {
            Issue.record("\(ServiceProcess.binary) is missing; build the package first")
            return
        }
        let suffix = UUID().uuidString.prefix(8).lowercased()
        let events = 60_000
        let admin = try KafkaAdmin(bootstrapServers: bootstrap, logger: TestKafka.logger)
        try admin.createTopics([KafkaTopicSpecification(name: "events-\(suffix)", partitions: 3)], timeout: .seconds(30))
        let producer = try KafkaProducer(configuration: .init(bootstrapServers: bootstrap), logger: TestKafka.logger)
        var simulator = ClickSimulator(configuration: SimulatorConfiguration())
        for _ in 0..<events {
            let event = simulator.next()
            try producer.send(topic: "events-\(suffix)", key: event.user, value: EventEncoder.encode(event))
        }
        try producer.close(timeout: .seconds(60))

        let config = FileManager.default.temporaryDirectory.appendingPathComponent("sigterm-\(suffix).yaml").path
        let checkpoints = FileManager.default.temporaryDirectory.appendingPathComponent("sigterm-\(suffix)-checkpoints").path
        defer { try? FileManager.default.removeItem(atPath: checkpoints) }
        try """
        group_id: sigterm-\(suffix)
        topics:
          events: events-\(suffix)
          recommendations: recommendations-\(suffix)
          alerts: alerts-\(suffix)
          dead_letter: dlq-\(suffix)
        kafka:
          session.timeout.ms: 6000
          heartbeat.interval.ms: 1000
          max.poll.interval.ms: 10000
        consumer:
          batch_size: 200
        progress:
          interval_seconds: 0.2
        checkpoint:
          directory: \(checkpoints)
        http:
          enabled: false
        """.write(toFile: config, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: config) }

        let started = Date()
        // Interrupt once it has made progress but (very likely) before the end.
        // (Interrupting before the first join completed leaves a half-joined member that tansu
        // never expires, so wait for real progress.)
        let first = try Self.run(config: config, bootstrap: bootstrap) { log in
            log.range(of: #"progress events=[1-9]"#, options: .regularExpression) != nil
        }
        let stopSeconds = Date().timeIntervalSince(started)
        #expect(first.status == 0, "\(first.stderr.suffix(2_000))")
        #expect(first.stderr.contains("reason=shutdown requested"))
        #expect(stopSeconds < 60)
        let firstApplied = try #require(first.applied, "last stdout line: \(first.stdout)")
        #expect(firstApplied > 0)

        let second = try Self.run(config: config, bootstrap: bootstrap, arguments: ["--idle-exit", "3"])
        #expect(second.status == 0, "\(second.stderr.suffix(2_000))")
        let secondApplied = try #require(second.applied)
        // `applied` lives in the checkpointed state, so the restart reports the total.
        #expect(secondApplied == events, "first \(firstApplied), after the restart \(secondApplied)")
        #expect(second.stderr.contains("restored checkpoint"), "\(second.stderr.prefix(3_000))")
        print("SIGTERM after \(firstApplied) of \(events) events (stopped in \(String(format: "%.1f", stopSeconds)) s); after the restart \(secondApplied)")
    }
}
