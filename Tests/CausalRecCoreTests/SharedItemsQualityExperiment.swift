@testable import CausalRecCore
import Foundation
import Testing

/// An experiment, not a test (runs only with SHARED_ITEMS_EXPERIMENT set): the quality lost by
/// splitting one stream by user over N recommenders that share items, without a broker. One
/// recommender learns the whole simulator stream; N others each learn their users' events
/// (partition = stable hash of the user mod 6, instance = partition mod N) and exchange item
/// changes every `SHARED_ITEMS_INTERVAL` events. Prints the true NDCG@20 of both for 500 users.
/// Knobs: SHARED_ITEMS_EVENTS, _N, _INTERVAL, _OPTIMIZER (adam | sgd) with _LR, _GAMMA (training
/// exponent), _BATCH, _REPLAY (recent positives per positive), _SEED (the recommenders' seed), _PART
/// (rows | counts | clicks | exposure | rows+clicks | rows+exposure: exchange only that part).
@Suite("Experiment: quality of recommenders sharing items (SHARED_ITEMS_EXPERIMENT)",
       .enabled(if: ProcessInfo.processInfo.environment["SHARED_ITEMS_EXPERIMENT"] != nil))
struct SharedItemsQualityExperiment {
    static func trueNDCG(_ owner: (String) -> OnlineRecommender, simulator: ClickSimulator) -> Double {
        var ndcg = 0.0, judged = 0
        for user in 0..<min(500, simulator.configuration.users) {
            let truth = simulator.trueTopItems(user: user, k: 20)
            guard !truth.isEmpty else { continue }
            let identifier = ClickSimulator.userID(user)
            let list = owner(identifier).recommend(user: identifier, k: 20, at: 0).items.compactMap { ClickSimulator.index(of: $0.item) }
            ndcg += RankingMetrics.ndcg(ranked: list.map(Int32.init), relevant: ExcludedItems(sorted: truth.map(Int32.init).sorted()), k: 20)
            judged += 1
        }
        return ndcg / Double(judged)
    }

    @Test("one recommender against N sharing items, on the same stream")
    func compare() {
        let environment = ProcessInfo.processInfo.environment
        let knob = { (name: String) in environment["SHARED_ITEMS_\(name)"] }
        let events = Int(knob("EVENTS") ?? "100000")!
        let interval = Int(knob("INTERVAL") ?? "1000")!
        let count = Int(knob("N") ?? "3")!
        var world = SimulatorConfiguration()
        world.users = 2_000
        world.items = 1_000
        world.seed = 7
        var configuration = RecommenderConfiguration()
        configuration.model.itemInitialization = .id
        if knob("OPTIMIZER") == "sgd" {
            configuration.model.optimizer = .sgd
            configuration.model.learningRate = Float(knob("LR") ?? "0.05")!
        }
        if let gamma = knob("GAMMA") { configuration.deconfounding.trainingExponent = Double(gamma)! }
        if let batch = knob("BATCH") { configuration.trainingBatchSize = Int(batch)! }
        if let replay = knob("REPLAY") { configuration.recentPositivesPerPositive = Int(replay)! }
        if let seed = knob("SEED") { configuration.seed = UInt64(seed)! }
        var simulator = ClickSimulator(configuration: world)
        let stream = (0..<events).map { _ in simulator.next() }
        let single = OnlineRecommender(configuration: configuration)
        for event in stream { single.step(event, fallbackTimestamp: 0) }
        var sharing = configuration
        sharing.sharesItems = true
        let instances = (0..<count).map { _ in OnlineRecommender(configuration: sharing) }
        func owner(_ user: String) -> Int { Int(StableKey.of(user) % 6) % count }
        for (index, event) in stream.enumerated() {
            let partition = Int32(StableKey.of(event.user) % 6)
            instances[owner(event.user)].step(event, fallbackTimestamp: 0, source: partition)
            guard (index + 1) % interval == 0 || index == stream.count - 1 else { continue }
            // SHARED_ITEMS_PART: exchange only the training's changes (rows) or only the counts.
            let changes = instances.map { instance in
                var taken = instance.takeItemChanges()
                switch knob("PART") {
                case "rows": taken.items.removeAll { $0.source != nil }
                case "counts": taken.items.removeAll { $0.source == nil }
                case "clicks":
                    taken.items.removeAll { $0.source == nil }
                    for index in taken.items.indices { taken.items[index].exposure = 0 }
                case "rows+clicks":
                    for index in taken.items.indices { taken.items[index].exposure = 0 }
                case "rows+exposure":
                    for index in taken.items.indices { taken.items[index].clicks = 0 }
                case "exposure":
                    taken.items.removeAll { $0.source == nil }
                    for index in taken.items.indices { taken.items[index].clicks = 0 }
                default: break
                }
                return taken
            }
            for (from, published) in changes.enumerated() {
                for (to, instance) in instances.enumerated() where to != from { instance.applyItemChanges(published) }
            }
        }
        let one = Self.trueNDCG({ _ in single }, simulator: simulator)
        let shared = Self.trueNDCG({ instances[owner($0)] }, simulator: simulator)
        print("shared items experiment: events=\(events) instances=\(count) interval=\(interval) one=\(one) shared=\(shared) ratio=\(shared / one)")
    }
}
