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
/// (rows | counts | clicks | exposure | rows+clicks | rows+exposure: exchange only that part),
/// _WHOLE_BATCH (each instance steps after a whole batch rather than its share of the group's),
/// _INSTANCE_BATCH (the instances' batch), _DISTINCT_SEEDS (a random stream per instance),
/// _REORDER=W (within windows of W events, one instance's users after another's: the single
/// recommender's new positives then come from one instance's users at a time), _LR_SCALE (the
/// instances' learning rate × this), _LR_ALL (every recommender's). It also prints each
/// recommender's Adam step counts (users, items) and mean row norms.
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
        // SHARED_ITEMS_LR_ALL: every recommender's learning rate × this.
        if let scale = knob("LR_ALL").map({ Float($0)! }) { configuration.model.learningRate *= scale }
        var simulator = ClickSimulator(configuration: world)
        var stream = (0..<events).map { _ in simulator.next() }
        // SHARED_ITEMS_REORDER=W: within each window of W events, the events of one instance's
        // users come before the next instance's (each user's events keep their order), so the
        // single recommender's batches hold one instance's users, as each instance's do.
        if let window = knob("REORDER").map({ Int($0)! }) {
            let groups = count
            stream = stride(from: 0, to: stream.count, by: window).flatMap { start in
                let slice = stream[start..<min(stream.count, start + window)]
                return (0..<groups).flatMap { group in slice.filter { Int(StableKey.of($0.user) % 6) % groups == group } }
            }
        }
        let single = OnlineRecommender(configuration: configuration)
        for event in stream { single.step(event, fallbackTimestamp: 0) }
        var sharing = configuration
        sharing.sharesItems = true
        // SHARED_ITEMS_INSTANCE_BATCH: the instances' batch size.
        if let batch = knob("INSTANCE_BATCH") { sharing.trainingBatchSize = Int(batch)! }
        // SHARED_ITEMS_LR_SCALE: the instances' learning rate × this.
        if let scale = knob("LR_SCALE").map({ Float($0)! }) { sharing.model.learningRate *= scale }
        // SHARED_ITEMS_DISTINCT_SEEDS: each instance draws from its own random stream.
        let distinct = knob("DISTINCT_SEEDS") != nil
        let instances = (0..<count).map { index in
            var own = sharing
            if distinct { own.seed = SplitMix64.mix(sharing.seed, UInt64(index)) }
            let recommender = OnlineRecommender(configuration: own)
            // As the service does: each instance steps after its share of the group's batch
            // (SHARED_ITEMS_WHOLE_BATCH: after a whole batch each, as before).
            if knob("WHOLE_BATCH") == nil {
                recommender.setTrainingShare(owned: (0..<6).filter { $0 % count == index }.count, of: 6)
            }
            return recommender
        }
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
        func norms(_ r: OnlineRecommender) -> String {
            let d = r.model.dimension
            var itemNorm = 0.0, userNorm = 0.0, bias = 0.0
            for row in 0..<r.model.itemCount {
                let p = r.model.items.row(Int32(row))
                itemNorm += Double((0..<d).reduce(Float(0)) { $0 + p[$1] * p[$1] }.squareRoot())
                bias += Double(r.model.itemBias[row])
            }
            for row in 0..<r.model.userCount {
                let p = r.model.users.row(Int32(row))
                userNorm += Double((0..<d).reduce(Float(0)) { $0 + p[$1] * p[$1] }.squareRoot())
            }
            func steps(_ powers: AdamPowers, _ count: Int) -> Double {
                (0..<count).reduce(0.0) { $0 + log(Double(powers.beta2[$1])) / log(0.999) }
            }
            let stepCounts = String(format: " steps: items %.0f users %.0f bias %.0f", steps(r.model.itemOptimizer.powers, r.model.itemCount),
                                    steps(r.model.userOptimizer.powers, r.model.userCount), steps(r.model.biasOptimizer.powers, r.model.itemCount))
            return stepCounts + String(format: " items %d |q| %.3f bias %.3f users %d |p| %.3f", r.model.itemCount, itemNorm / Double(r.model.itemCount),
                          bias / Double(r.model.itemCount), r.model.userCount, userNorm / Double(max(1, r.model.userCount)))
        }
        print("shared items experiment: single \(norms(single))")
        for instance in instances { print("shared items experiment: instance \(norms(instance))") }
        let exponents = ([single] + instances).map { "\($0.ranking.rankingExponent.chosen)/\($0.ranking.coldStartExponent.chosen)" }
        print("shared items experiment: exponents (single, instances) \(exponents)")
        print("shared items experiment: events=\(events) instances=\(count) interval=\(interval) one=\(one) shared=\(shared) ratio=\(shared / one)")
    }
}
