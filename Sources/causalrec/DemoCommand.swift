import ArgumentParser
import CausalRecCore
import CausalRecPipeline
import Foundation

struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Embedded mock cluster + paced simulator + the service, ending with a summary (what `make run` runs)."
    )

    @Option(help: "Simulator events to produce.")
    var events = 200_000

    @Option(help: "Production rate in events per second.")
    var rate = 2_000.0

    @Option(help: "Simulator seed.")
    var seed: UInt64 = 1

    @Option(name: .customLong("shift-at"), help: "Plant an exposure-policy shift at this event.")
    var shiftAt: Int?

    @Option(help: "Pipeline configuration to use (brokers are always embedded).")
    var config: String?

    @Option(help: "Negative sampler, in place of the configuration's (to compare samplers on the same stream).")
    var sampler: String?

    func run() async throws {
        let logger = CommandSupport.makeLogger()
        CommandSupport.logLibraryVersion(logger)
        var options = DemoRunner.Options()
        if let config { options.configuration = try CommandSupport.loadConfiguration(config) }
        if let sampler {
            guard let named = SamplerConfiguration.named(sampler) else {
                throw ValidationError("--sampler must be one of \(SamplerConfiguration.names.joined(separator: ", ")), got '\(sampler)'")
            }
            options.configuration.recommender.sampler = named
        }
        guard events > 0, rate > 0 else { throw ValidationError("--events and --rate must be positive") }
        options.events = events
        options.eventsPerSecond = rate
        options.simulator.seed = seed
        options.simulator.shiftAt = shiftAt
        let summary = try await DemoRunner(options: options, logger: logger).run()
        print(summary.line)
    }
}
