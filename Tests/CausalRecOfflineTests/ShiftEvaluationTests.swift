import CausalRecCore
@testable import CausalRecOffline
import Testing

@Suite("The simulator's truth: deconfounded training")
struct ShiftEvaluationTests {
    @Test("the default (exposure in the training score) beats plain BPR on the true preferences after a shift")
    func deconfoundedTrainingFindsTruePreferences() {
        func trueNDCG(trainingExponent: Double) -> Double {
            var evaluation = ShiftEvaluation(samplers: [SamplerConfiguration(kind: .random)])
            evaluation.events = 60_000
            evaluation.shiftAt = 30_000
            evaluation.seeds = 1
            evaluation.firstSeed = 7
            evaluation.judgedUsers = 300
            evaluation.recommender.deconfounding.trainingExponent = trainingExponent
            let records = evaluation.run { _ in }
            return records.first { $0.sampler == "random" }!.trueNDCG20
        }
        #expect(RecommenderConfiguration().deconfounding.trainingExponent > 0)
        let plain = trueNDCG(trainingExponent: 0)
        let deconfounded = trueNDCG(trainingExponent: RecommenderConfiguration().deconfounding.trainingExponent)
        print("true NDCG@20 on the simulator (seed 7, 60k events): plain \(plain), deconfounded \(deconfounded)")
        #expect(deconfounded >= 1.3 * plain)
    }
}
