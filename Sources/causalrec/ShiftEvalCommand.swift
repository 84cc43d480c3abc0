import ArgumentParser
import CausalRecCore
import CausalRecPipeline
import Foundation

struct ShiftEvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "shift-eval",
        abstract: "Samplers on the simulator with a planted exposure shift, judged against its true preferences."
    )

    @Option(help: "Samplers, comma-separated.")
    var samplers = "random,popularity,dns,cnsdiff"

    @Option(help: "Events per stream.")
    var events = 200_000

    @Option(name: .customLong("shift-at"), help: "Event at which the exposure policy shifts.")
    var shiftAt = 100_000

    @Option(help: "Number of seeds.")
    var seeds = 3

    @Option(help: "Write the records as JSON here.")
    var json: String?

    func run() throws {
        let configurations = try samplers.split(separator: ",").map { name -> SamplerConfiguration in
            guard let configuration = SamplerConfiguration.named(String(name)) else {
                throw ValidationError("unknown sampler '\(name)'; expected one of \(SamplerConfiguration.names.joined(separator: ", "))")
            }
            return configuration
        }
        guard events > 0, shiftAt > 0, shiftAt < events, seeds > 0 else {
            throw ValidationError("need 0 < --shift-at < --events and --seeds ≥ 1")
        }
        var evaluation = ShiftEvaluation(samplers: configurations)
        evaluation.events = events
        evaluation.shiftAt = shiftAt
        evaluation.seeds = seeds
        let records = evaluation.run { FileHandle.standardError.write(Data(($0 + "\n").utf8)) }
        if let json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try encoder.encode(records).write(to: URL(fileURLWithPath: json))
        }
        for name in (["mostpop"] + configurations.map(\.name)) {
            let mine = records.filter { $0.sampler == name }
            func stat(_ values: [Double]) -> String { BacktestReport.meanStd(values) }
            print("\(name): true NDCG@20 \(stat(mine.map(\.trueNDCG20)))  true click-probability@20 \(stat(mine.map(\.trueClickProbability20)))  hit-rate@20 after shift \(stat(mine.map(\.hitRateAfterShift)))")
        }
    }
}
