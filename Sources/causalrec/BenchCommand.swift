import ArgumentParser
import CausalRecPipeline
import Foundation

struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Run the benchmarks; each is compared with a reference measured in the same run where one exists."
    )

    @Option(help: "Write the records as JSON to this file.")
    var json: String?

    @Option(help: "Messages for the decoding benchmark.")
    var messages = 100_000

    func run() async throws {
        var records: [BenchmarkRecord] = []
        records += EventDecodingBenchmark(messages: messages).run()
        for record in records {
            var line = "\(record.name): \(String(format: "%.0f", record.value)) \(record.unit)"
            if let reference = record.reference, let ratio = record.ratio {
                line += " (reference \(String(format: "%.0f", reference)) — \(record.referenceName ?? ""); ratio \(String(format: "%.2f", ratio))x)"
            }
            print(line)
        }
        if let json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try encoder.encode(records).write(to: URL(fileURLWithPath: json))
        }
    }
}
