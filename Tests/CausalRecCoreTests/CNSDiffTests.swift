@testable import CausalRecCore
import Testing

/// CNSDiff version 2's own parts: the latent negatives, their terms in the BPR step and the
/// invariance weights. What every sampler must do (valid rows, determinism, restore) is
/// `SamplerConformanceTests`, which runs `cnsdiff` and its ablations.
@Suite("CNSDiff version 2")
struct CNSDiffTests {
    static func configuration() -> CNSDiffConfiguration {
        var configuration = CNSDiffConfiguration.version2
        configuration.steps = 10
        configuration.stops = [5, 2]
        configuration.levels = [2, 4]
        configuration.trainEvery = 1_000_000
        configuration.trainBatch = 8
        return configuration
    }

    @Test("latent negatives are generated once per user and snapshot, one finite state per stop, and kept while the snapshot lasts")
    func generatedOncePerSnapshot() {
        let (model, history, exposure) = SamplerTests().world()
        model.growUsers(to: 3)
        history.growUsers(to: 3)
        let context = SamplingContext(model: model, history: history, exposure: exposure)
        var sampler = CNSDiffSampler(configuration: Self.configuration(), causal: CausalSamplerConfiguration(), dimension: 8,
                                     environments: 4)
        var random = Xoshiro256(seed: 3)
        let batch = [PositiveExample(user: 0, item: 0, timestamp: 0), PositiveExample(user: 1, item: 5, timestamp: 0),
                     PositiveExample(user: 0, item: 1, timestamp: 0)]
        batch.withUnsafeBufferPointer { sampler.learn(from: $0, context: context, random: &random) }
        let generated = sampler.generated
        #expect(generated.userCount == 2 && generated.version == sampler.diffusion.version && generated.version > 0)
        #expect(generated.slot(of: 2) == -1)
        let slot = generated.slot(of: 0)
        let states = (0..<2).map { generated.values(slot: slot, $0, count: 8) }
        #expect(states.allSatisfy { $0.allSatisfy(\.isFinite) && $0.contains { $0 != 0 } })
        #expect(states[0] != states[1], "each stop keeps its own state")
        // The same snapshot: nothing is generated again for user 0, and user 2 is added.
        [PositiveExample(user: 0, item: 2, timestamp: 0), PositiveExample(user: 2, item: 3, timestamp: 0)].withUnsafeBufferPointer {
            sampler.learn(from: $0, context: context, random: &random)
        }
        #expect(generated.userCount == 3 && generated.slot(of: 0) == slot)
        #expect(generated.values(slot: slot, 0, count: 8) == states[0])
        sampler.forget(users: [0], items: [])
        #expect(generated.userCount == 2 && generated.slot(of: 0) == -1 && generated.slot(of: 2) >= 0)
    }

    func model() -> MatrixFactorization {
        var configuration = ModelConfiguration()
        configuration.dimension = 8
        configuration.learningRate = 0.05
        configuration.optimizer = .sgd
        let model = MatrixFactorization(configuration: configuration)
        model.growUsers(to: 2)
        model.growItems(to: 6)
        return model
    }

    /// One step on (user 0, item 1 over item 2), with `vector` as user 0's only latent negative.
    func step(vector: [Float]?, filter: Bool) -> MatrixFactorization {
        let model = model()
        let trainer = BPRTrainer(model: model)
        let triplets = [TrainingTriplet(user: 0, positive: 1, negative: 2)]
        let slots: [Int32] = [vector == nil ? -1 : 0]
        let vectors = vector ?? [Float](repeating: 0, count: 8)
        triplets.withUnsafeBufferPointer { batch in
            slots.withUnsafeBufferPointer { slots in
                vectors.withUnsafeBufferPointer { vectors in
                    _ = trainer.train(batch, generated: GeneratedTerms(vectors: vectors.baseAddress!, slots: slots.baseAddress!,
                                                                       perUser: 1, weight: 0.5, filter: filter))
                }
            }
        }
        return model
    }

    @Test("a latent negative moves only the user's row, and with the filter one scoring as high as the positive adds nothing")
    func termsMoveOnlyTheUser() {
        let plain = step(vector: nil, filter: true)
        let reference = model()
        let p = reference.users.values(of: 0)
        let positiveScore = reference.score(user: 0, item: 1)
        let squared = p.reduce(0) { $0 + $1 * $1 }
        // ⟨p, below⟩ far under the positive's score; ⟨p, above⟩ = 2(|x_ui| + 1) above it.
        let below = p.map { -$0 * (abs(positiveScore) + 1) / squared }
        let above = p.map { $0 * 2 * (abs(positiveScore) + 1) / squared }
        let withBelow = step(vector: below, filter: true)
        #expect(withBelow.users.values(of: 0) != plain.users.values(of: 0))
        for item in Int32(0)..<6 { #expect(withBelow.items.values(of: item) == plain.items.values(of: item)) }
        #expect(step(vector: above, filter: true).users.values(of: 0) == plain.users.values(of: 0))
        #expect(step(vector: above, filter: false).users.values(of: 0) != plain.users.values(of: 0))
    }

    @Test("V-REx weighs up the examples of the environment whose loss is above the others', and w = 0 changes nothing")
    func invarianceWeights() {
        let model = model()
        // Environment 0 (items 0–2): the negative outscores the positive; environment 1: the reverse.
        for column in 0..<8 {
            model.users.row(0)[column] = 1
            model.items.row(0)[column] = -0.2
            model.items.row(1)[column] = 0.3
            model.items.row(3)[column] = 0.4
            model.items.row(4)[column] = -0.3
        }
        var examples = [TrainingTriplet(user: 0, positive: 0, negative: 1), TrainingTriplet(user: 0, positive: 0, negative: 1),
                        TrainingTriplet(user: 0, positive: 3, negative: 4), TrainingTriplet(user: 0, positive: 3, negative: 4)]
        let environment: (Int32) -> Int = { $0 < 3 ? 0 : 1 }
        let none = examples.withUnsafeMutableBufferPointer {
            LossInvariance(weight: 0, environmentCount: 2).reweigh($0, model: model, environment: environment)
        }
        #expect(none > 0 && examples.allSatisfy { $0.weight == 1 })
        examples.withUnsafeMutableBufferPointer {
            _ = LossInvariance(weight: 1, environmentCount: 2).reweigh($0, model: model, environment: environment)
        }
        #expect(examples[0].weight > 1 && examples[1].weight == examples[0].weight)
        #expect(examples[2].weight < 1 && examples[2].weight >= 0)
        #expect(examples[0].weight <= LossInvariance.maximumWeight)
    }

    @Test("cnsdiff-exposure: users with fewer than three shown items get unclicked real items as stand-ins, others none")
    func substitutesForScarceImpressions() throws {
        let (model, history, exposure) = SamplerTests().world(tracksImpressions: true)
        model.growUsers(to: 2)
        history.growUsers(to: 2)
        for item in Int32(10)..<16 { history.recordImpression(user: 1, item: item) }
        let context = SamplingContext(model: model, history: history, exposure: exposure)
        var configuration = Self.configuration()
        configuration.learnExposure = true
        configuration.keepDenoised = true
        var sampler = CNSDiffSampler(configuration: configuration, causal: CausalSamplerConfiguration(), dimension: 8, environments: 4)
        var random = Xoshiro256(seed: 5)
        [PositiveExample(user: 0, item: 0, timestamp: 0), PositiveExample(user: 1, item: 2, timestamp: 0)].withUnsafeBufferPointer {
            sampler.learn(from: $0, context: context, random: &random)
        }
        let substitutes = try #require(sampler.generated.substitutes)
        let stand = Array(substitutes.items(of: 0))
        #expect(!stand.isEmpty && stand.count <= 2 && Set(stand).count == stand.count)
        #expect(stand.allSatisfy { !history.hasClicked(user: 0, item: $0) })
        #expect(substitutes.items(of: 1).isEmpty, "six shown items of its own: no stand-ins")
        // User 0 has no shown items: with the whole pool exposed (the default share 1), every draw is a stand-in.
        let drawn = SamplerTests().draw(&sampler, context, count: 300)
        #expect(Set(drawn) == Set(stand))
    }
}
