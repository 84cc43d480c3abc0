import CausalRecCore
import Foundation

/// The peers beside the samplers (EASE here; mostpop and untrained are the floors) and the choice
/// of the adjusted ranking on validation.
extension BacktestRunner {
    /// EASE, the linear peer, with λ chosen on validation NDCG@20 (deterministic: one run serves
    /// every seed).
    func ease(reference: OnlineRecommender, context: EvaluationContext) throws -> [BacktestRecord] {
        let clicked = (0..<reference.users.count).map { reference.history.clicked(by: Int32($0)) }
        var best: (lambda: Double, validation: RankingMetrics, scorer: EASEScorer)?
        for lambda in options.easeLambdas {
            let started = ContinuousClock.now
            let scorer = try EASEScorer(clicked: clicked, items: reference.items.count, lambda: lambda, maxItems: options.easeMaxItems)
            let validation = context.evaluator.evaluate(scorer, on: context.validation)
            logger.info("\(options.datasetName) ease λ \(lambda): validation NDCG@20 \(String(format: "%.4f", validation.ndcg20)) (\(String(format: "%.1f", (ContinuousClock.now - started).inSeconds)) s)")
            if best == nil || validation.ndcg20 > best!.validation.ndcg20 { best = (lambda, validation, scorer) }
        }
        guard let best else { return [] }
        return context.splits.map { split in
            var entry = record(sampler: "ease", seed: 0, split: split.name, epochs: 0,
                               metrics: split.name == context.validation.name ? best.validation : context.evaluator.evaluate(best.scorer, on: split),
                               settings: nil)
            entry.settings = BacktestRecord.Settings(dimension: 0, optimizer: "closed form", learningRate: 0, l2: 0, batchSize: 0, threads: 1,
                                                     easeLambda: best.lambda)
            entry.validationNDCG20 = best.validation.ndcg20
            return entry
        }
    }

    /// The ranking with the best validation NDCG@20: per confounder, the best γ̃ for users with at
    /// least `coldStartClicks` training clicks and, separately, for those with fewer (ties: the
    /// smaller exponent, then the first confounder). Returns it with the NDCG@20 it reaches over
    /// all validation users.
    static func chooseRanking(_ perVariant: [[Double]], variants: [RankingVariant], clicks: [Int], coldStartClicks: Int)
        -> (RankingVariant, Double)
    {
        guard let first = perVariant.first, !first.isEmpty else { return (RankingVariant(), 0) }
        var chosen: (variant: RankingVariant, total: Double)?
        for confounder in RankingVariant.Confounder.allCases where variants.contains(where: { $0.confounder == confounder }) {
            func best(cold: Bool) -> (exponent: Double, total: Double) {
                var best = (exponent: Double.infinity, total: -1.0)
                for (index, variant) in variants.enumerated() where variant.confounder == confounder {
                    var total = 0.0
                    for user in perVariant[index].indices where (clicks[user] < coldStartClicks) == cold { total += perVariant[index][user] }
                    if total > best.total || (total == best.total && variant.exponent < best.exponent) { best = (variant.exponent, total) }
                }
                return best
            }
            let warm = best(cold: false)
            let cold = best(cold: true)
            let total = max(0, warm.total) + max(0, cold.total)
            if chosen == nil || total > chosen!.total {
                chosen = (RankingVariant(exponent: warm.exponent, coldStartExponent: coldStartClicks > 0 ? cold.exponent : 0,
                                         coldStartClicks: coldStartClicks, confounder: confounder), total)
            }
        }
        return (chosen!.variant, chosen!.total / Double(first.count))
    }
}
