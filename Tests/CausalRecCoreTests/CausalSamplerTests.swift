@testable import CausalRecCore
import Testing

/// The `causal` sampler's own rules; what every sampler must do (valid rows, determinism for
/// seed and thread count, restore) is `SamplerConformanceTests`, which runs it and its ablations.
@Suite("The causal sampler")
struct CausalSamplerTests {
    let world = SamplerTests()

    /// Draws for `count` positives of user 0 (positive item 0), with the observations absorbed
    /// afterwards as the training queue does.
    func draw(_ sampler: inout CausalNegativeSampler, _ context: SamplingContext, count: Int, seed: UInt64 = 1) -> [Int32] {
        var random = Xoshiro256(seed: seed)
        let positives = [PositiveExample](repeating: PositiveExample(user: 0, item: 0, timestamp: 0), count: count)
        var negatives = [Int32](repeating: -2, count: count)
        let perPositive = sampler.observationsPerPositive
        var items = [Int32](repeating: -1, count: max(count * perPositive, 1))
        var values = [Float](repeating: 0, count: max(count * perPositive, 1))
        sampler.prepare(context: context)
        positives.withUnsafeBufferPointer { input in
            negatives.withUnsafeMutableBufferPointer { output in
                items.withUnsafeMutableBufferPointer { items in
                    values.withUnsafeMutableBufferPointer { values in
                        let observations = NegativeObservations(items: items.baseAddress!, values: values.baseAddress!, perPositive: perPositive)
                        observations.clear(count: count)
                        sampler.sampleNegatives(for: input, into: output, synthetic: nil, observations: observations,
                                                context: context, random: &random)
                        sampler.absorb(observations, for: input)
                    }
                }
            }
        }
        return negatives
    }

    @Test("with impressions, the negatives are the items shown and not clicked; without, every unclicked item can be drawn")
    func exposedFirst() {
        let (model, history, exposure) = world.world(tracksImpressions: true)
        let context = SamplingContext(model: model, history: history, exposure: exposure)
        var sampler = CausalNegativeSampler(configuration: CausalSamplerConfiguration())
        let before = draw(&sampler, context, count: 2_000)
        #expect(!before.contains(0) && !before.contains(1) && !before.contains(-1))
        #expect(Set(before).count == 18, "no impressions: the backdoor rule reaches every unclicked item")
        history.recordImpression(user: 0, item: 5)
        history.recordImpression(user: 0, item: 9)
        #expect(Set(draw(&sampler, context, count: 500)) == [5, 9])
        var half = CausalSamplerConfiguration()
        half.exposedShare = 0.5
        var halfSampler = CausalNegativeSampler(configuration: half)
        let mixed = draw(&halfSampler, context, count: 4_000)
        let shownShare = Double(mixed.filter { $0 == 5 || $0 == 9 }.count) / Double(mixed.count)
        // Half from the shown items, plus what the backdoor rule draws of the same two (2 of 18).
        #expect(abs(shownShare - (0.5 + 0.5 * 2 / 18)) < 0.03)
    }

    @Test("the environment draws follow P(E) over items, not over clicks, and ρ = 1 keeps the positive's environment")
    func environments() {
        let (model, history, exposure) = world.world()
        exposure.recomputeBoundaries()
        let context = SamplingContext(model: model, history: history, exposure: exposure)
        var matched = CausalSamplerConfiguration()
        matched.matchedEnvironment = 1
        var sampler = CausalNegativeSampler(configuration: matched)
        // The positive is item 0 (never exposed: environment 0, items 0–5), so the draws come from
        // environment 0 — but for the rare run of four draws of the clicked items 0 and 1, after
        // which a uniform unclicked item is taken.
        let own = draw(&sampler, context, count: 2_000)
        let inOwn = own.filter { exposure.environment(of: $0) == exposure.environment(of: 0) }.count
        #expect(Double(inOwn) / Double(own.count) > 0.97)
        var marginal = CausalSamplerConfiguration()
        marginal.matchedEnvironment = 0
        var free = CausalNegativeSampler(configuration: marginal)
        var counts = [Double](repeating: 0, count: 20)
        for item in draw(&free, context, count: 60_000) { counts[Int(item)] += 1 }
        // P(E) over items, then uniform within E, is uniform over items: item 19 (most exposed)
        // is drawn as often as item 8, although exposure-weighted draws would favour it 2.4×.
        // (Items of environment 0, the positive's, take the redraws of the clicked items 0 and 1.)
        #expect(abs(counts[19] / counts[8] - 1) < 0.1)
    }

    @Test("a candidate remembered as stably above the positive is never drawn again; one that swings is kept")
    func falseNegativeFilter() {
        var memory = CandidateMemory(slots: 2)
        memory.grow(users: 1)
        for _ in 0..<5 { memory.observe(user: 0, item: 7, value: 0.95, rate: 0.25) }
        let entry = memory.entries(of: 0).first { memory.item(at: $0) == 7 }!
        #expect(memory.count(at: entry) == 5)
        #expect(memory.mean(at: entry) > 0.9 && memory.deviation(at: entry) < 0.05)
        memory.observe(user: 0, item: 8, value: 0.4, rate: 0.25, insert: false)
        #expect(!memory.entries(of: 0).contains { memory.item(at: $0) == 8 }, "a candidate below the positive does not take an entry")
        // First in, first out: a third suspect replaces the oldest entry.
        memory.observe(user: 0, item: 8, value: 0.6, rate: 0.25)
        memory.observe(user: 0, item: 9, value: 0.7, rate: 0.25)
        #expect(Set(memory.entries(of: 0).map { memory.item(at: $0) }) == [8, 9])

        // In the sampler: item 7 rated far above user 0's positive is drawn, remembered, then filtered.
        let (model, history, exposure) = world.world(tracksImpressions: true)
        history.recordImpression(user: 0, item: 7)
        history.recordImpression(user: 0, item: 12)
        for index in 0..<model.stride {
            model.users.row(0)[index] = 1
            model.items.row(0)[index] = 1
            model.items.row(7)[index] = 2
            model.items.row(12)[index] = 0
        }
        let context = SamplingContext(model: model, history: history, exposure: exposure)
        var sampler = CausalNegativeSampler(configuration: CausalSamplerConfiguration())
        let first = draw(&sampler, context, count: 40)
        #expect(first.contains(7))
        let later = draw(&sampler, context, count: 400, seed: 2)
        #expect(!later.contains(7), "item 7 stayed above the positive: a likely false negative")
        #expect(Set(later) == [12])
    }

    @Test("in the recommender, the training queue hands the batch's observations back: the memory fills")
    func memoryFillsThroughTheQueue() throws {
        let recommender = SamplerConformanceTests.trained("causal")
        let sampler = try #require(recommender.training.sampler as? CausalNegativeSampler)
        #expect(sampler.rememberedCandidates > 0, "no candidate was remembered: the queue did not call absorb")
        // A sampler that keeps no memory asks for no observation slots.
        var none = CausalSamplerConfiguration()
        none.memorySlots = 0
        #expect(CausalNegativeSampler(configuration: none).observationsPerPositive == 0)
    }

    @Test("settings: every key is read; an unknown key or a bad value names the key")
    func settings() throws {
        var configuration = CausalSamplerConfiguration()
        try configuration.apply([("candidates", "16"), ("selection", "hardest"), ("exposed_share", "0.25"), ("memory_slots", "4")])
        #expect(configuration.candidates == 16 && configuration.selection == .hardest && configuration.exposedShare == 0.25)
        #expect(throws: CausalSamplerConfiguration.SettingError.self) { try configuration.set("candidate", to: "3") }
        do {
            try configuration.set("exposed_share", to: "2")
            Issue.record("a share of 2 was accepted")
        } catch {
            #expect(error.key == "exposed_share")
            #expect(error.description.contains("0.0…1.0"))
        }
    }
}
