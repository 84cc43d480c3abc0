import ArgumentParser
import CausalRecPipeline
import Foundation
import Logging
import ServiceLifecycle

struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Consume events, learn online, publish recommendations (the long-lived service)."
    )

    @Option(name: .long, help: "Path of the pipeline configuration.")
    var config = "pipeline.yaml"

    @Option(name: .customLong("max-events"), help: "Stop cleanly after handling this many input messages.")
    var maxEvents: Int?

    @Option(name: .customLong("idle-exit"), help: "Stop cleanly after this many seconds without a new message (counted from the first partition assignment).")
    var idleExit: Double?

    @Option(name: .customLong("checkpoint-dir"), help: "Checkpoint directory (default: checkpoint.directory of the configuration).")
    var checkpointDirectory: String?

    @Flag(name: .customLong("fresh-state"), help: "Start with an empty state even if the checkpoint directory holds one that this run cannot use (it is kept).")
    var freshState = false

    @Option(name: .customLong("dump-state"), help: "At the end of the run, write the owned partitions, their users and the items as JSON lines to this file (to compare instances).")
    var dumpState: String?

    func run() async throws {
        let logger = CommandSupport.makeLogger()
        var configuration = try CommandSupport.loadConfiguration(config)
        CommandSupport.logLibraryVersion(logger)
        if let maxEvents, maxEvents <= 0 { throw ValidationError("--max-events must be positive") }
        if let idleExit, idleExit <= 0 { throw ValidationError("--idle-exit must be positive") }

        let cluster = try KafkaClusterConnection(configuration.brokers, logger: logger)
        if cluster.isEmbedded {
            logger.notice("brokers: embedded — the in-process mock cluster starts empty; produce to \(cluster.bootstrapServers) or use `causalrec demo`")
            if configuration.checkpoint.enabled {
                // Its log vanishes with the process, so a checkpoint's offsets would point nowhere.
                logger.notice("checkpoints are off with the embedded cluster: its topics do not outlive the process")
                configuration.checkpoint.enabled = false
            }
        }
        try cluster.ensureTopics(configuration.topics)
        let service = RecommenderService(
            configuration: configuration, bootstrapServers: cluster.bootstrapServers,
            options: RunOptions(maxMessages: maxEvents, idleExit: idleExit.map { .seconds(fractional: $0) },
                                checkpointDirectory: checkpointDirectory, freshState: freshState, dumpStatePath: dumpState),
            logger: logger)
        let endpoint: HTTPEndpoint?
        do {
            endpoint = try await service.startHTTPEndpoint()
        } catch {
            logger.critical("\(error)")
            throw ExitCode(2)
        }
        // Graceful shutdown runs in reverse order: the event loop drains first, then the endpoint closes.
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = []
        if let endpoint { services.append(.init(service: endpoint)) }
        services.append(.init(service: service, successTerminationBehavior: .gracefullyShutdownGroup))
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(services: services, logger: logger))
        try ShutdownSignals.install(logger: logger) { _ in
            Task { await group.triggerGracefulShutdown() }
        }
        do {
            try await group.run()
        } catch let error as ConfigurationError {
            // Found only once the service runs (a checkpoint it must not start without, a
            // checkpoint directory another process holds): still a configuration problem.
            logger.critical("\(error)")
            throw ExitCode(CommandSupport.invalidConfiguration)
        }
        guard let outcome = service.outcome else { throw ExitCode.failure }
        logger.info("stopped (\(outcome.reason.rawValue)): messages=\(outcome.messages) dlq=\(outcome.deadLettered) recommendations=\(outcome.recommendationsPublished)")
        print("applied=\(outcome.appliedEvents) version=\(outcome.modelVersion)")
    }
}
