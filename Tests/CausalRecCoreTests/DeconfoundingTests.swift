import CausalRecCore
import Foundation
import Testing

@Suite("Exposure as the confounder: weighted BPR, adjusted ranking, the online choice, peers")
struct DeconfoundingTests {
    @Test("ELU+1 is positive, its derivative and log agree with its value")
    func link() {
        let link = ScoreLink.eluPlusOne
        for x in stride(from: Float(-6), through: 6, by: 0.25) {
            #expect(link.value(x) > 0)
            let h: Float = 1e-3
            let numeric = (link.value(x + h) - link.value(x - h)) / (2 * h)
            if abs(x) > 2 * h { #expect(abs(numeric - link.derivative(x)) < 2e-3, "x \(x)") }
            #expect(abs(link.logValue(x) - logf(link.value(x))) < 1e-5, "x \(x)")
        }
        #expect(ScoreLink.identity.value(-3) == -3 && ScoreLink.identity.derivative(5) == 1)
    }

    /// −w·log σ(g(x_i)·w_i − g(x_j)·w_j) with x = ⟨p,q⟩ + b, from the model's current rows.
    static func loss(_ model: MatrixFactorization, _ triplet: TrainingTriplet, link: ScoreLink) -> Double {
        let xi = model.score(user: triplet.user, item: triplet.positive)
        let xj = model.score(user: triplet.user, item: triplet.negative)
        let delta = Double(link.value(xi) * triplet.positiveWeight - link.value(xj) * triplet.negativeWeight)
        return Double(triplet.weight) * log1p(exp(-delta))
    }

    @Test("a weighted step moves the user row along the gradient of the deconfounded BPR loss")
    func weightedStepFollowsTheGradient() {
        var configuration = ModelConfiguration()
        configuration.dimension = 8
        configuration.optimizer = .sgd
        configuration.learningRate = 0.01
        configuration.l2 = 0
        configuration.initialStandardDeviation = 0.5
        let model = MatrixFactorization(configuration: configuration)
        model.growUsers(to: 2)
        model.growItems(to: 4)
        let triplet = TrainingTriplet(user: 1, positive: 2, negative: 3, positiveWeight: 0.4, negativeWeight: 2.5, weight: 1.7)
        // Numeric gradient of the loss in the user row.
        let row = model.users.row(1)
        var gradient = [Double](repeating: 0, count: 8)
        for d in 0..<8 {
            let kept = row[d]
            row[d] = kept + 1e-3
            let up = Self.loss(model, triplet, link: .eluPlusOne)
            row[d] = kept - 1e-3
            let down = Self.loss(model, triplet, link: .eluPlusOne)
            row[d] = kept
            gradient[d] = (up - down) / 2e-3
        }
        let before = (0..<8).map { row[$0] }
        let lossBefore = Self.loss(model, triplet, link: .eluPlusOne)
        let trainer = BPRTrainer(model: model)
        [triplet].withUnsafeBufferPointer { _ = trainer.train($0, link: .eluPlusOne) }
        for d in 0..<8 {
            let step = Double(row[d] - before[d])
            #expect(abs(step + 0.01 * gradient[d]) < 1e-4 + 0.02 * abs(0.01 * gradient[d]), "dimension \(d)")
        }
        #expect(Self.loss(model, triplet, link: .eluPlusOne) < lossBefore)
    }

    @Test("the adjusted ranking is g(x)·r^γ̃, and the rank in log space matches sorting it")
    func adjustmentAndRank() {
        var random = Xoshiro256(seed: 9)
        let counts = (0..<300).map { _ in Int32(random.nextIndex(below: 40)) }
        let adjustment = ExposureAdjustment(counts: counts, floor: 0.01)
        let mean = Double(counts.reduce(0) { $0 + Int($1) }) / 300
        let raw = (0..<300).map { _ in Float(random.nextUnitDouble() * 4 - 2) }
        let excluded = ExcludedItems(sorted: [3, 50, 51, 299])
        for gamma in [0.0, 0.3, 1.0, 2.5] {
            var adjusted = raw
            adjusted.withUnsafeMutableBufferPointer { adjustment.adjust($0.baseAddress!, count: 300, exponent: gamma) }
            if gamma > 0 {
                for item in [0, 7, 120] {
                    let relative = max(Double(counts[item]) / mean, 0.01)
                    let expected = Double(ScoreLink.eluPlusOne.value(raw[item])) * pow(relative, gamma)
                    #expect(abs(Double(adjusted[item]) - expected) < 1e-4 * max(1, expected))
                }
            }
            let order = (0..<300).filter { !excluded.contains(Int32($0)) }.sorted { (adjusted[$0], -$0) > (adjusted[$1], -$1) }
            for item in [0, 7, 120, 200] where !excluded.contains(Int32(item)) {
                let position = order.firstIndex(of: item)!
                let rank = raw.withUnsafeBufferPointer {
                    adjustment.rank(of: Int32(item), rawScores: $0.baseAddress!, count: 300, exponent: gamma, k: 20, excluding: excluded)
                }
                #expect(rank == (position < 20 ? position : nil), "γ̃ \(gamma) item \(item)")
            }
        }
    }

    @Test("the online choice follows the candidate with more hits, ties to the smaller exponent")
    func selector() {
        var selector = RankingExponentSelector(candidates: [0, 0.5, 1], fallback: 0.25, horizon: 50)
        #expect(selector.chosen == 0.25)
        selector.record(hits: [false, false, false])
        #expect(selector.chosen == 0)
        for index in 0..<200 { selector.record(hits: [index % 3 == 0, index % 2 == 0, false]) }
        #expect(selector.chosen == 0.5)
        // The stream shifts: only the largest exponent hits now; the horizon lets it take over.
        for _ in 0..<150 { selector.record(hits: [false, false, true]) }
        #expect(selector.chosen == 1)
    }

    @Test("decayed popularity: a short half-life follows recent clicks, a long one the counts")
    func decayedPopularity() {
        var peer = DecayedPopularity(halfLives: [10, 100_000])
        for _ in 0..<200 { peer.record(click: 0) }
        for _ in 0..<40 { peer.record(click: 1) }
        #expect(peer.ranks(of: 1, k: 5, excluding: .none) == [0, 1])
        #expect(peer.ranks(of: 0, k: 5, excluding: .none) == [1, 0])
        #expect(peer.ranks(of: 0, k: 5, excluding: ExcludedItems(sorted: [1])) == [0, 0])
        #expect(peer.ranks(of: 7, k: 5, excluding: .none) == [nil, nil])
        // A million clicks at a half-life of 10 rescale many times and stay ordered and finite.
        var fast = DecayedPopularity(halfLives: [10])
        for click in 0..<1_000_000 { fast.record(click: Int32(click % 7 == 0 ? 2 : 3)) }
        #expect(fast.ranks(of: 3, k: 3, excluding: .none) == [0] && fast.ranks(of: 2, k: 3, excluding: .none) == [1])
        for _ in 0..<100 { fast.record(click: 4) }
        #expect(fast.ranks(of: 4, k: 3, excluding: .none) == [0])
        fast.clear(item: 4)
        #expect(fast.ranks(of: 4, k: 3, excluding: .none) == [nil])
    }
}
