import ArgumentParser
import CausalRecPipeline

struct ValidateConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate-config",
        abstract: "Check a pipeline configuration: exit 0 if valid, 2 with the key path and reason if not."
    )

    @Argument(help: "Path of the configuration file.")
    var file: String

    func run() throws {
        let configuration = try CommandSupport.loadConfiguration(file)
        print("\(file): valid (brokers \(configuration.brokers.description), group \(configuration.groupID), sampler \(configuration.recommender.sampler.kind.rawValue))")
    }
}
