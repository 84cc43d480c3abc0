import CausalRecCore
import Foundation

/// The simulator with a planted exposure shift, per sampler: stream events through an online
/// recommender (test-then-train), then judge each user's top-20 against the simulator's true
/// preferences — the only ground truth unaffected by what the exposure policy showed.
public struct ShiftEvaluation: Sendable {
    public var samplers: [SamplerConfiguration]
    public var events = 200_000
    public var shiftAt = 100_000
    public var seeds = 3
    public var firstSeed: UInt64 = 1
    /// Users judged at the end (the first ones of the simulated population).
    public var judgedUsers = 1_000
    public var recommender = RecommenderConfiguration()

    public init(samplers: [SamplerConfiguration]) {
        self.samplers = samplers
        recommender.evaluateEveryNthClick = 4
    }

    public struct Record: Sendable, Codable {
        public var sampler: String
        public var seed: UInt64
        public var events: Int
        public var shiftAt: Int
        /// NDCG@20 of the recommended list against the user's true top-20 unclicked items.
        public var trueNDCG20: Double
        /// Mean true click probability of the recommended top-20.
        public var trueClickProbability20: Double
        /// Prequential hit-rate@20 on clicks after the shift (model, and most-popular on the same clicks).
        public var hitRateAfterShift: Double
        public var popularHitRateAfterShift: Double
        public var users: Int

        enum CodingKeys: String, CodingKey {
            case sampler, seed, events, users
            case shiftAt = "shift_at"
            case trueNDCG20 = "true_ndcg@20"
            case trueClickProbability20 = "true_click_probability@20"
            case hitRateAfterShift = "hit_rate@20_after_shift"
            case popularHitRateAfterShift = "popular_hit_rate@20_after_shift"
        }
    }

    public func run(progress: (String) -> Void = { _ in }) -> [Record] {
        var records: [Record] = []
        for seed in (0..<seeds).map({ firstSeed + UInt64($0) }) {
            var simulatorConfiguration = SimulatorConfiguration()
            simulatorConfiguration.seed = seed
            simulatorConfiguration.shiftAt = shiftAt
            for sampler in samplers {
                var configuration = recommender
                configuration.sampler = sampler
                configuration.sampler.cnsdiff.curriculumPositives = events
                configuration.seed = seed
                configuration.model.seed = seed
                let recommenderInstance = OnlineRecommender(configuration: configuration)
                let engine = StreamEngine(recommender: recommenderInstance)
                var simulator = ClickSimulator(configuration: simulatorConfiguration)
                for _ in 0..<events { engine.step(simulator.next(), fallbackTimestamp: 0) }
                records.append(judge(recommenderInstance, simulator: simulator, name: sampler.name, seed: seed))
                progress("seed \(seed) \(sampler.name): true NDCG@20 \(String(format: "%.4f", records.last!.trueNDCG20))")
            }
            // The most-popular floor on the same stream.
            var simulator = ClickSimulator(configuration: simulatorConfiguration)
            let reference = OnlineRecommender(configuration: recommender)
            let recording = StreamEngine(recommender: reference)
            for _ in 0..<events { recording.step(simulator.next(), fallbackTimestamp: 0, mode: .record) }
            records.append(judge(reference, simulator: simulator, name: "mostpop", seed: seed, popularity: true))
        }
        return records
    }

    func judge(_ recommender: OnlineRecommender, simulator: ClickSimulator, name: String, seed: UInt64,
               popularity: Bool = false) -> Record
    {
        var ndcg = 0.0, probability = 0.0, judged = 0
        let popularList = recommender.history.mostClicked(limit: 1_000)
        for user in 0..<min(judgedUsers, simulator.configuration.users) {
            let truth = simulator.trueTopItems(user: user, k: 20)
            guard !truth.isEmpty else { continue }
            let identifier = ClickSimulator.userID(user)
            let list: [Int]
            if popularity {
                let clicked = Set((0..<simulator.configuration.items).filter { simulator.hasClicked(user: user, item: $0) })
                list = popularList.map { Int(ClickSimulator.index(of: recommender.items.identifier(of: $0)) ?? -1) }
                    .filter { $0 >= 0 && !clicked.contains($0) }.prefix(20).map { $0 }
            } else {
                list = recommender.recommend(user: identifier, k: 20, at: 0).items.compactMap { ClickSimulator.index(of: $0.item) }
            }
            let relevant = ExcludedItems(sorted: truth.map(Int32.init).sorted())
            ndcg += RankingMetrics.ndcg(ranked: list.map(Int32.init), relevant: relevant, k: 20)
            probability += list.isEmpty ? 0
                : list.reduce(0.0) { $0 + simulator.trueClickProbability(user: user, item: $1) } / Double(list.count)
            judged += 1
        }
        let after = recommender.evaluator.summary(fromEvent: shiftAt)
        return Record(sampler: name, seed: seed, events: events, shiftAt: shiftAt,
                      trueNDCG20: judged > 0 ? ndcg / Double(judged) : 0,
                      trueClickProbability20: judged > 0 ? probability / Double(judged) : 0,
                      hitRateAfterShift: popularity ? after.popularHitRate : after.modelHitRate,
                      popularHitRateAfterShift: after.popularHitRate, users: judged)
    }
}
