import ArgumentParser
import CausalRecOffline
import CausalRecCore
import CausalRecPipeline
import Foundation

struct ShiftEvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "shift-eval",
        abstract: "Samplers on the simulator with a planted exposure shift, judged against its true preferences."
    )

    @Option(help: "Samplers, comma-separated: \(SamplerConfiguration.names.joined(separator: ", ")).")
    var samplers = "random,exposed,dns,causal,cnsdiff"

    @Option(help: "Events per stream.")
    var events = 200_000

    @Option(name: .customLong("shift-at"), help: "Event at which the exposure policy shifts.")
    var shiftAt = 100_000

    @OptionGroup var seedRange: SeedOptions

    @Option(help: "Write the records as JSON here.")
    var json: String?

    @OptionGroup var samplerOptions: SamplerOptions

    @Option(name: .customLong("impression-share"), help: "Share of impressions kept in the users' shown-items history the samplers read (the exposure estimate still counts all): thins what shown-and-skipped samplers can draw from.")
    var impressionShare = 1.0

    @Option(help: "Pipeline configuration whose model, deconfounding and exposure settings the recommenders use (default: the defaults).")
    var config: String?

    func run() throws {
        let configurations = try samplerOptions.configurations(samplers)
        guard events > 0, shiftAt > 0, shiftAt < events, seedRange.seeds > 0 else {
            throw ValidationError("need 0 < --shift-at < --events and --seeds ≥ 1")
        }
        var evaluation = ShiftEvaluation(samplers: configurations)
        if let config {
            let kept = evaluation.recommender.evaluateEveryNthClick
            evaluation.recommender = try PipelineConfiguration.load(path: config).recommender
            evaluation.recommender.evaluateEveryNthClick = kept
        }
        guard impressionShare > 0, impressionShare <= 1 else { throw ValidationError("--impression-share must be in (0, 1]") }
        evaluation.recommender.sampledImpressionShare = impressionShare
        evaluation.events = events
        evaluation.shiftAt = shiftAt
        evaluation.seeds = seedRange.seeds
        evaluation.firstSeed = seedRange.firstSeed
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
