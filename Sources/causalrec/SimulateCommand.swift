import ArgumentParser
import CausalRecCore
import CausalRecPipeline
import Foundation
import Kafka

struct SimulateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract: "Synthetic events with known preferences and a popularity-biased exposure policy, as JSON lines or to Kafka."
    )

    @Option(help: "Number of events.")
    var events: Int

    @Option(help: "Seed (same seed, same stream).")
    var seed: UInt64 = 1

    @Option(name: .customLong("shift-at"), help: "Re-draw the exposure policy's popularity ranking at this event.")
    var shiftAt: Int?

    @Option(help: "Users in the simulated world.")
    var users = SimulatorConfiguration().users

    @Option(help: "Items in the simulated world.")
    var items = SimulatorConfiguration().items

    @Option(help: "Produce to these brokers (host:port,...) instead of writing to stdout.")
    var brokers: String?

    @Option(help: "Topic to produce to (with --brokers).")
    var topic = "events"

    @Option(help: "Maximum events per second when producing.")
    var rate: Double?

    func validate() throws {
        guard events >= 0 else { throw ValidationError("--events must not be negative") }
        guard users > 0, items > 1 else { throw ValidationError("--users must be positive and --items at least 2") }
        if let shiftAt, shiftAt <= 0 { throw ValidationError("--shift-at must be positive") }
    }

    func run() async throws {
        var configuration = SimulatorConfiguration()
        configuration.seed = seed
        configuration.shiftAt = shiftAt
        configuration.users = users
        configuration.items = items
        configuration.slateSize = min(configuration.slateSize, items)
        var simulator = ClickSimulator(configuration: configuration)
        guard let brokers else {
            var buffer: [UInt8] = []
            buffer.reserveCapacity(1 << 16)
            for _ in 0..<events {
                buffer.append(contentsOf: EventEncoder.encode(simulator.next()))
                buffer.append(UInt8(ascii: "\n"))
                if buffer.count > 60_000 {
                    FileHandle.standardOutput.write(Data(buffer))
                    buffer.removeAll(keepingCapacity: true)
                }
            }
            FileHandle.standardOutput.write(Data(buffer))
            return
        }
        let logger = CommandSupport.makeLogger()
        let servers = try PipelineConfiguration.parseBrokerList(brokers)
        let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(bootstrapServers: servers), logger: logger)
        let sent = try SimulatorPublisher(producer: producer, topic: topic)
            .publish(count: events, from: &simulator, pacing: SimulatorPublisher.Pacing(eventsPerSecond: rate))
        try producer.close(timeout: .seconds(60))
        logger.info("produced \(sent) events to '\(topic)' at \(servers)")
    }
}
