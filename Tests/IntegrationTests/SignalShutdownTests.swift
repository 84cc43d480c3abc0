import CausalRecCore
import Foundation
import Kafka
import KafkaTestSupport
import Testing

@Suite("causalrec run stops cleanly on SIGTERM", .serialized, .enabled(if: RealBroker.bootstrap != nil, "KAFKA_BOOTSTRAP is not set"))
struct SignalShutdownTests {
    static var binary: String {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("causalrec").path
    }

    struct Finished {
        var status: Int32
        var stdout: String
        var stderr: String
        var applied: Int? {
            guard let line = stdout.split(separator: "\n").last, line.hasPrefix("applied=") else { return nil }
            return Int(line.split(separator: " ")[0].dropFirst("applied=".count))
        }
    }

    /// Starts `causalrec run`; `interrupt` decides when to send SIGTERM (nil: let it idle out).
    static func run(config: String, bootstrap: String, arguments: [String] = [],
                    interrupt: ((String) -> Bool)? = nil) throws -> Finished
    {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["run", "--config", config] + arguments
        var environment = ProcessInfo.processInfo.environment
        environment["CAUSALREC_BROKERS"] = bootstrap
        process.environment = environment
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        let collected = ThreadSafeText()
        err.fileHandleForReading.readabilityHandler = { handle in collected.append(handle.availableData) }
        try process.run()
        if let interrupt {
            let deadline = Date().addingTimeInterval(60)
            while process.isRunning && !interrupt(collected.text) && Date() < deadline {
                Thread.sleep(forTimeInterval: 0.05)
            }
            // Foundation's Process.terminate() did not deliver SIGTERM to the child here; kill(2) does.
            kill(process.processIdentifier, SIGTERM)
        }
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        err.fileHandleForReading.readabilityHandler = nil
        collected.append(err.fileHandleForReading.readDataToEndOfFile())
        return Finished(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self), stderr: collected.text)
    }

    @Test("SIGTERM mid-stream: exit 0, committed; a restart continues with exactly the rest")
    func sigtermThenRestart() throws {
        let bootstrap = try #require(RealBroker.bootstrap)
        guard FileManager.default.isExecutableFile(atPath: Self.binary) else {
            Issue.record("\(Self.binary) is missing; build the package first")
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
        #expect(firstApplied + secondApplied == events, "first \(firstApplied) + second \(secondApplied)")
        print("SIGTERM after \(firstApplied) of \(events) events (stopped in \(String(format: "%.1f", stopSeconds)) s); the restart applied \(secondApplied)")
    }
}

/// Text appended from a pipe handler thread and read from the test thread.
final class ThreadSafeText: @unchecked Sendable {
    private let lock = NSLock()
    private var data = Data()

    func append(_ more: Data) {
        lock.lock()
        data.append(more)
        lock.unlock()
    }

    var text: String {
        lock.lock()
        defer { lock.unlock() }
        return String(decoding: data, as: UTF8.self)
    }
}
