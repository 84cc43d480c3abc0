import ArgumentParser
import CausalRecPipeline
import Foundation
import Kafka
import Logging

@main
struct CausalRecCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "causalrec",
        abstract: "Online recommendations from a Kafka stream of impressions and clicks, robust to exposure shift.",
        subcommands: [RunCommand.self, DemoCommand.self, SimulateCommand.self, ValidateConfigCommand.self, BenchCommand.self, BacktestCommand.self, ReplayCommand.self, ConvertCommand.self, ShiftEvalCommand.self, SoakCommand.self]
    )
}

/// Shared start-up pieces of the subcommands.
enum CommandSupport {
    /// Exit code for an invalid configuration (documented in README).
    static let invalidConfiguration: Int32 = 2

    /// The application logs at info and above by default (`CAUSALREC_LOG_LEVEL` changes it);
    /// libraries log at debug/trace, so they stay quiet unless asked.
    static func makeLogger(label: String = "causalrec") -> Logger {
        let level = ProcessInfo.processInfo.environment["CAUSALREC_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        var logger = Logger(label: label)
        logger.logLevel = level
        return logger
    }

    /// Applies `key=value,key=value` settings of a command-line option through `apply`; any
    /// problem (a pair without "=", an unknown key, a bad value) becomes a usage error naming it.
    static func applySettings(_ text: String, option: String, _ apply: ([(key: String, value: String)]) throws -> Void) throws {
        var settings: [(key: String, value: String)] = []
        for setting in text.split(separator: ",") {
            let parts = setting.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { throw ValidationError("\(option) expects key=value pairs, got '\(setting)'") }
            settings.append((key: parts[0], value: parts[1]))
        }
        do {
            try apply(settings)
        } catch {
            throw ValidationError("\(option): \(error)")
        }
    }

    /// Loads the configuration or exits with code 2 and the key path of the problem.
    static func loadConfiguration(_ path: String) throws -> PipelineConfiguration {
        do {
            return try PipelineConfiguration.load(path: path)
        } catch let error as ConfigurationError {
            FileHandle.standardError.write(Data("error: invalid configuration '\(path)': \(error)\n".utf8))
            throw ExitCode(invalidConfiguration)
        }
    }

    static func logLibraryVersion(_ logger: Logger) {
        logger.info("librdkafka \(KafkaLibrary.versionString)")
        if KafkaLibrary.isOlderThan2_2 {
            logger.warning("librdkafka \(KafkaLibrary.versionString) is older than 2.2: brokers that send tagged fields in ApiVersion responses (e.g. tansu) fail with 'Read underflow'; the embedded cluster and Apache Kafka work")
        }
    }
}
