import CausalRecCore
import Testing

@Suite("Exposure estimator")
struct ExposureEstimatorTests {
    func makeEstimator(halfLife: Double = 1_000, environments: Int = 4) -> ExposureEstimator {
        var configuration = ExposureConfiguration()
        configuration.halfLifeMilliseconds = halfLife
        configuration.environmentCount = environments
        configuration.requantileEvery = 1
        let estimator = ExposureEstimator(configuration: configuration)
        estimator.grow(to: 8)
        return estimator
    }

    @Test("exposure taken back (a refused shared count) leaves the rest and never goes below none")
    func takenBack() {
        let estimator = makeEstimator()
        estimator.record(item: 1, at: 0)
        estimator.record(item: 1, at: 0)
        estimator.record(item: 2, at: 0)
        let recorded = estimator.recordedCount
        estimator.record(item: 1, at: 0, amount: -1)
        #expect(abs(estimator.exposure(of: 1, at: 0) - 1) < 1e-12 && abs(estimator.propensity(of: 2) - 0.5) < 1e-12)
        #expect(estimator.recordedCount == recorded)
        estimator.record(item: 2, at: 0, amount: -5)
        #expect(estimator.exposure(of: 2, at: 0) == 0 && abs(estimator.propensity(of: 1) - 1) < 1e-12)
    }

    @Test func decaysByHalfLife() {
        let estimator = makeEstimator()
        estimator.record(item: 0, at: 1_000_000)
        #expect(abs(estimator.exposure(of: 0, at: 1_000_000) - 1) < 1e-9)
        #expect(abs(estimator.exposure(of: 0, at: 1_001_000) - 0.5) < 1e-9)
        #expect(abs(estimator.exposure(of: 0, at: 1_003_000) - 0.125) < 1e-9)
        estimator.record(item: 0, at: 1_001_000)
        #expect(abs(estimator.exposure(of: 0, at: 1_001_000) - 1.5) < 1e-9)
    }

    @Test("rebasing after a long gap keeps exposures and ratios")
    func rebaseKeepsRatios() {
        let estimator = makeEstimator(halfLife: 10)
        estimator.record(item: 1, at: 1_000_000)
        estimator.record(item: 2, at: 1_000_000)
        estimator.record(item: 2, at: 1_000_000)
        // 500 half-lives later: far past the rebase point of the internal scale.
        estimator.record(item: 3, at: 1_005_000)
        #expect(estimator.exposure(of: 3, at: 1_005_000) == 1)
        #expect(estimator.exposure(of: 2, at: 1_005_000) < 1e-100)
        #expect(abs(estimator.propensity(of: 3) - 1) < 1e-9)
        #expect(estimator.weights.allSatisfy { $0.isFinite })
    }

    @Test func propensitiesAndEnvironments() {
        let estimator = makeEstimator(halfLife: 1e12)
        for item in Int32(0)..<8 {
            for _ in 0..<(Int(item) * 10) { estimator.record(item: item, at: 1_000_000) }
        }
        let total = (0..<8).map { estimator.propensity(of: Int32($0)) }.reduce(0, +)
        #expect(abs(total - 1) < 1e-9)
        #expect(estimator.environment(of: 0) == 0, "never exposed → lowest environment")
        let environments = (1..<8).map { estimator.environment(of: Int32($0)) }
        #expect(environments == environments.sorted(), "more exposure never means a lower bucket")
        #expect(environments.first == 0 && environments.last == 3)
        #expect(estimator.mostExposed(limit: 3) == [7, 6, 5])
        #expect(estimator.mostExposed(limit: 3, excluding: ExcludedItems(sorted: [6])) == [7, 5, 4])
    }
}
