import CausalRecCore
import Testing

@Suite("Recommender state: write, restore, continue")
struct StateRestoreTests {
    static func events(_ count: Int) -> [Event] {
        var configuration = SimulatorConfiguration()
        configuration.users = 200
        configuration.items = 300
        var simulator = ClickSimulator(configuration: configuration)
        return (0..<count).map { _ in simulator.next() }
    }

    static func configuration(sampler: String, threads: Int) -> RecommenderConfiguration {
        var configuration = RecommenderConfiguration()
        configuration.sampler = SamplerConfiguration.named(sampler)!
        configuration.sampler.popularityRefreshEvery = 500
        configuration.sampler.cnsdiff.trainEvery = 128
        configuration.sampler.cnsdiff.hiddenWidth = 32
        configuration.model.dimension = 16
        configuration.model.threads = threads
        configuration.recentPositivesCapacity = 1_000
        configuration.trainingBatchSize = 32
        return configuration
    }

    static func state(of recommender: OnlineRecommender) -> [UInt8] {
        var writer = StateWriter()
        recommender.writeState(to: &writer)
        return writer.bytes
    }

    @Test("train on A, write, restore into a new recommender, train on B == train on A then B, bit for bit",
          arguments: ["random", "popularity", "dns", "exposed", "cnsdiff"])
    func restoreContinuesBitForBit(sampler: String) throws {
        let stream = Self.events(6_000)
        // A split that leaves a part-filled training batch and replay ring behind.
        let split = 3_217
        let configuration = Self.configuration(sampler: sampler, threads: 2)

        let straight = OnlineRecommender(configuration: configuration)
        for event in stream { straight.step(event, fallbackTimestamp: 0) }

        let first = OnlineRecommender(configuration: configuration)
        for event in stream[..<split] { first.step(event, fallbackTimestamp: 0) }
        #expect(first.training.pendingCount > 0)
        var reader = StateReader(Self.state(of: first))
        let resumed = OnlineRecommender(configuration: configuration)
        try resumed.readState(from: &reader)
        #expect(reader.isAtEnd)
        #expect(Self.state(of: resumed) == Self.state(of: first))
        for event in stream[split...] { resumed.step(event, fallbackTimestamp: 0) }

        #expect(resumed.modelVersion == straight.modelVersion)
        #expect(resumed.applied == straight.applied)
        #expect(resumed.generatorVersion == straight.generatorVersion)
        #expect(Self.state(of: resumed) == Self.state(of: straight))
        let user = "u17"
        #expect(resumed.recommend(user: user, k: 10, at: 0) == straight.recommend(user: user, k: 10, at: 0))
    }

    @Test("a state whose shape disagrees with the configuration is refused with the setting's name")
    func shapeMismatchIsNamed() {
        let recommender = OnlineRecommender(configuration: Self.configuration(sampler: "random", threads: 1))
        for event in Self.events(500) { recommender.step(event, fallbackTimestamp: 0) }
        let bytes = Self.state(of: recommender)

        var otherSampler = StateReader(bytes)
        #expect(throws: StateReadError("sampler.name is random in the checkpoint but dns in the configuration")) {
            try OnlineRecommender(configuration: Self.configuration(sampler: "dns", threads: 1)).readState(from: &otherSampler)
        }
        var wider = Self.configuration(sampler: "random", threads: 1)
        wider.model.dimension = 32
        var otherDimension = StateReader(bytes)
        #expect(throws: StateReadError("user embeddings: the dimension is 16 in the checkpoint but 32 in the configuration")) {
            try OnlineRecommender(configuration: wider).readState(from: &otherDimension)
        }
    }

    @Test("a truncated state fails with a reason instead of restoring garbage")
    func truncationIsDetected() {
        let recommender = OnlineRecommender(configuration: Self.configuration(sampler: "cnsdiff", threads: 1))
        for event in Self.events(800) { recommender.step(event, fallbackTimestamp: 0) }
        let bytes = Self.state(of: recommender)
        for cut in [3, 20, bytes.count / 3, bytes.count - 1] {
            var reader = StateReader(Array(bytes[..<cut]))
            #expect(throws: StateReadError.self) {
                try OnlineRecommender(configuration: Self.configuration(sampler: "cnsdiff", threads: 1)).readState(from: &reader)
            }
        }
    }
}
