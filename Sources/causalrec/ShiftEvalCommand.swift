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

    @Option(help: "Samplers, comma-separated.")
    var samplers = "random,popularity,dns,cnsdiff"

    @Option(help: "Events per stream.")
    var events = 200_000

    @Option(name: .customLong("shift-at"), help: "Event at which the exposure policy shifts.")
    var shiftAt = 100_000

    @Option(help: "Number of seeds.")
    var seeds = 3

    @Option(name: .customLong("first-seed"), help: "First seed (e.g. 101 for a validation stream apart from the reported seeds 1–3).")
    var firstSeed: UInt64 = 1

    @Option(help: "Write the records as JSON here.")
    var json: String?

    @Option(help: "causal settings for the causal sampler, e.g. candidates=16,matched_environment=0.3 (keys in docs/configuration.md, `sampler.causal`).")
    var causal: String?

    @Option(help: "Pipeline configuration whose model, deconfounding and exposure settings the recommenders use (default: the defaults).")
    var config: String?

    func run() throws {
        let configurations = try samplers.split(separator: ",").map { name -> SamplerConfiguration in
            guard let configuration = SamplerConfiguration.named(String(name)) else {
                throw ValidationError("unknown sampler '\(name)'; expected one of \(SamplerConfiguration.names.joined(separator: ", "))")
            }
            var result = configuration
            if let causal, configuration.kind == .causal {
                try CommandSupport.applySettings(causal, option: "--causal") { try result.causal.apply($0) }
            }
            return result
        }
        guard events > 0, shiftAt > 0, shiftAt < events, seeds > 0 else {
            throw ValidationError("need 0 < --shift-at < --events and --seeds ≥ 1")
        }
        var evaluation = ShiftEvaluation(samplers: configurations)
        if let config {
            let kept = evaluation.recommender.evaluateEveryNthClick
            evaluation.recommender = try PipelineConfiguration.load(path: config).recommender
            evaluation.recommender.evaluateEveryNthClick = kept
        }
        evaluation.events = events
        evaluation.shiftAt = shiftAt
        evaluation.seeds = seeds
        evaluation.firstSeed = firstSeed
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
