import ArgumentParser
import CausalRecCore
import Foundation

/// The sampler options that `backtest` and `shift-eval` share: sampler names turned into
/// configurations, with the per-sampler settings of the run applied to the samplers they name.
struct SamplerOptions: ParsableArguments {
    @Option(name: .customLong("popularity-alpha"), help: "popularity sampler: exponent α.")
    var popularityAlpha = 0.75

    @Option(name: .customLong("dns-candidates"), help: "dns sampler: candidates scored per positive.")
    var dnsCandidates = 10

    @Option(help: "cnsdiff settings for every cnsdiff sampler of the run, e.g. levels=20/30/40,final_alpha=3 (keys in docs/configuration.md, `sampler.cnsdiff`).")
    var cnsdiff: String?

    @Option(help: "causal settings for the causal and cnsdiff samplers of the run (cnsdiff draws its real negative as causal does), e.g. candidates=16,matched_environment=0.3 (keys in docs/configuration.md, `sampler.causal`).")
    var causal: String?

    /// One configuration per comma-separated name; an unknown name or a bad setting is a usage error.
    func configurations(_ names: String) throws -> [SamplerConfiguration] {
        try names.split(separator: ",").map { name in
            let trimmed = String(name).trimmingCharacters(in: .whitespaces)
            guard var configuration = SamplerConfiguration.named(trimmed) else {
                throw ValidationError("unknown sampler '\(trimmed)'; expected one of \(SamplerConfiguration.names.joined(separator: ", "))")
            }
            configuration.popularityExponent = popularityAlpha
            configuration.dnsCandidates = dnsCandidates
            if let cnsdiff, configuration.kind == .cnsdiff || configuration.kind == .cnsdiffV1 {
                try CommandSupport.applySettings(cnsdiff, option: "--cnsdiff") { try configuration.cnsdiff.apply($0) }
            }
            if let causal, configuration.kind == .causal || configuration.kind == .cnsdiff {
                try CommandSupport.applySettings(causal, option: "--causal") { try configuration.causal.apply($0) }
            }
            return configuration
        }
    }
}

/// The seeds of a repeated experiment: `--seeds N` runs first-seed, first-seed+1, ….
struct SeedOptions: ParsableArguments {
    @Option(help: "Number of seeds (first-seed, first-seed+1, ...).")
    var seeds = 3

    @Option(name: [.customLong("first-seed"), .customLong("seed")],
            help: "First seed (e.g. 101 for validation streams apart from the reported seeds 1–3 of shift-eval).")
    var firstSeed: UInt64 = 1
}
