@testable import CausalRecCore
import Testing

/// What every negative sampler must do, run over every name `SamplerConfiguration.names` accepts
/// (a new sampler joins by its name): never hand out a row the user clicked or a row without an
/// item; the same negatives for the same seed, and the same model for 1 and 2 threads; a
/// restored state that continues bit for bit.
@Suite("Sampler conformance: every sampler name")
struct SamplerConformanceTests {
    static let names = SamplerConfiguration.names

    static func configuration(_ name: String, threads: Int) -> RecommenderConfiguration {
        var configuration = StateRestoreTests.configuration(sampler: name, threads: threads)
        // Churn with idle eviction, so the state has free item rows to avoid.
        configuration.retention.userIdleSeconds = 60
        configuration.retention.itemIdleSeconds = 60
        configuration.retention.sweepEvery = 400
        return configuration
    }

    static let stream = RetentionTests.churningStream(5_000)

    static func trained(_ name: String, threads: Int = 1, events: ArraySlice<Event> = stream[...]) -> OnlineRecommender {
        let recommender = OnlineRecommender(configuration: configuration(name, threads: threads))
        for event in events { recommender.step(event, fallbackTimestamp: 0) }
        return recommender
    }

    /// Negatives the recommender's sampler draws now for the recent positives (a copy of the
    /// sampler; nothing of the recommender changes).
    static func draw(_ recommender: OnlineRecommender, seed: UInt64) -> (positives: [PositiveExample], negatives: [Int32]) {
        let positives = Array(recommender.training.recentPositives.oldestFirst.suffix(2_000))
        let context = SamplingContext(model: recommender.model, history: recommender.history, exposure: recommender.exposure,
                                      freeItems: ExcludedItems(sorted: recommender.freeItemsSorted))
        var sampler = recommender.training.sampler
        sampler.prepare(context: context)
        var negatives = [Int32](repeating: -2, count: positives.count)
        let stride = recommender.model.stride
        var vectors = [Float](repeating: 0, count: positives.count * stride)
        var mix = [Float](repeating: 0, count: positives.count)
        var random = Xoshiro256(seed: seed)
        positives.withUnsafeBufferPointer { input in
            negatives.withUnsafeMutableBufferPointer { output in
                vectors.withUnsafeMutableBufferPointer { v in
                    mix.withUnsafeMutableBufferPointer { m in
                        let synthetic = sampler.generatesVectors ? SyntheticNegatives(vectors: v.baseAddress!, stride: stride, mix: m.baseAddress!) : nil
                        sampler.sampleNegatives(for: input, into: output, synthetic: synthetic, context: context, random: &random)
                    }
                }
            }
        }
        return (positives, negatives)
    }

    @Test("never a clicked row, a free row or a row that does not exist", arguments: names)
    func negativesAreValid(name: String) throws {
        let recommender = Self.trained(name)
        #expect(!recommender.freeItemsSorted.isEmpty, "the stream freed no item row: the test would not test it")
        let (positives, negatives) = Self.draw(recommender, seed: 5)
        #expect(positives.count > 200)
        let free = Set(recommender.freeItemsSorted)
        var drawn = 0
        for (positive, negative) in zip(positives, negatives) {
            #expect(negative >= -1, "a slot was left unwritten")
            guard negative >= 0 else { continue }
            drawn += 1
            #expect(Int(negative) < recommender.items.count)
            #expect(!free.contains(negative), "row \(negative) has no item")
            #expect(!recommender.history.hasClicked(user: positive.user, item: negative), "user \(positive.user) clicked \(negative)")
        }
        #expect(drawn * 10 >= positives.count * 9, "only \(drawn) of \(positives.count) positives got a negative")
    }

    @Test("the same seed draws the same negatives; 1 and 2 threads train the same model", arguments: names)
    func deterministic(name: String) {
        let one = Self.trained(name, threads: 1)
        let two = Self.trained(name, threads: 2)
        #expect(StateRestoreTests.state(of: one) == StateRestoreTests.state(of: two))
        #expect(Self.draw(one, seed: 9).negatives == Self.draw(one, seed: 9).negatives)
        #expect(Self.draw(one, seed: 9).negatives == Self.draw(two, seed: 9).negatives)
    }

    @Test("a restored state continues bit for bit", arguments: names)
    func restores(name: String) throws {
        let split = 2_711
        let straight = Self.trained(name)
        let first = Self.trained(name, events: Self.stream[..<split])
        let resumed = OnlineRecommender(configuration: Self.configuration(name, threads: 1))
        var reader = StateReader(StateRestoreTests.state(of: first))
        try resumed.readState(from: &reader)
        for event in Self.stream[split...] { resumed.step(event, fallbackTimestamp: 0) }
        #expect(StateRestoreTests.state(of: resumed) == StateRestoreTests.state(of: straight))
    }
}
