import CausalRecCore
import Testing

@Suite("Top-K selection and exact ranking")
struct RankingTests {
    @Test func selectorMatchesSorting() {
        var random = Xoshiro256(seed: 3)
        for _ in 0..<20 {
            let count = 1 + random.nextIndex(below: 500)
            let k = 1 + random.nextIndex(below: 40)
            // Coarse scores create ties; ties must go to the lower row.
            let scores = (0..<count).map { _ in Float(random.nextIndex(below: 50)) }
            var selector = TopKSelector<Float>(capacity: k)
            for (index, score) in scores.enumerated() { selector.offer(score: score, item: Int32(index)) }
            let expected = scores.indices.sorted { (scores[$0], -$0) > (scores[$1], -$1) }.prefix(k).map { Int32($0) }
            #expect(selector.sortedDescending().map(\.item) == Array(expected))
        }
    }

    @Test func rankerIsExactAndExcludes() {
        var configuration = ModelConfiguration()
        configuration.dimension = 20 // not a multiple of 8: exercises the padding
        configuration.initialStandardDeviation = 1
        let model = MatrixFactorization(configuration: configuration)
        model.growUsers(to: 3)
        model.growItems(to: 1_003)
        let ranker = ItemRanker()
        let excluded: Set<Int32> = [5, 17, 999]
        let top = ranker.topK(user: 1, k: 25, model: model, excluding: ExcludedItems(sorted: excluded.sorted()))
        var reference: [(Float, Int32)] = []
        for item in 0..<Int32(1_003) where !excluded.contains(item) {
            var score: Float = 0
            for d in 0..<20 { score += model.users.row(1)[d] * model.items.row(item)[d] }
            reference.append((score + model.itemBias[Int(item)], item))
        }
        reference.sort { $0.0 > $1.0 }
        #expect(top.map(\.item) == reference.prefix(25).map(\.1))
        for (entry, expected) in zip(top, reference) {
            #expect(abs(entry.score - expected.0) < 1e-4)
        }
    }
}

@Suite("Approximate top-K: 8-bit pre-scan, exact re-rank")
struct ApproximateRankingTests {
    static func model(items: Int, seed: UInt64 = 42) -> MatrixFactorization {
        var configuration = ModelConfiguration()
        configuration.dimension = 40 // not a multiple of 32: the codes are padded
        configuration.initialStandardDeviation = 1
        configuration.seed = seed
        let model = MatrixFactorization(configuration: configuration)
        model.growUsers(to: 30)
        model.growItems(to: items)
        var random = Xoshiro256(seed: seed)
        for item in 0..<items { model.itemBias[item] = Float(random.nextGaussian()) }
        return model
    }

    @Test("the answer matches the exact top-20 (recall ≥ 0.99), with exact scores and exclusions kept")
    func matchesExact() {
        let model = Self.model(items: 5_000)
        let approximate = ItemRanker(approximation: ApproximateRanking(minimumItems: 1_000, candidates: 200))
        let exact = ItemRanker()
        var found = 0
        for user in 0..<30 {
            let excluded = ExcludedItems(sorted: [Int32(user), 77, 4_999])
            let query = UnsafePointer(model.users.row(Int32(user)))
            let truth = exact.exactTopK(query: query, k: 20, model: model, excluding: excluded)
            let answer = approximate.topK(user: Int32(user), k: 20, model: model, excluding: excluded)
            #expect(answer.count == 20)
            #expect(answer.allSatisfy { !excluded.contains($0.item) })
            for entry in answer {
                #expect(abs(entry.score - model.score(user: Int32(user), item: entry.item)) < 1e-4)
            }
            found += answer.filter { entry in truth.contains { $0.item == entry.item } }.count
        }
        #expect(Double(found) / 600 >= 0.99)
    }

    @Test("rows the trainer writes, rows that grow and restored models are re-quantised")
    func followsTheModel() throws {
        let model = Self.model(items: 3_000)
        let ranker = ItemRanker(approximation: ApproximateRanking(minimumItems: 1_000, candidates: 100))
        let query = model.users.row(3)
        _ = ranker.topK(user: 3, k: 10, model: model, excluding: .none)
        // Item 1234 becomes the user's best match: it must come first although the 8-bit copy was built before.
        let target = model.items.row(1_234)
        for index in 0..<model.stride { target[index] = query[index] * 10 }
        model.changedItems.mark(1_234)
        #expect(ranker.topK(user: 3, k: 10, model: model, excluding: .none).first?.item == 1_234)
        // New rows are quantised too.
        model.growItems(to: 3_001)
        let added = model.items.row(3_000)
        for index in 0..<model.stride { added[index] = query[index] * 20 }
        model.changedItems.mark(3_000)
        #expect(ranker.topK(user: 3, k: 10, model: model, excluding: .none).first?.item == 3_000)
        // A restored copy ranks like the original.
        var writer = StateWriter()
        model.writeState(to: &writer)
        let restored = Self.model(items: 10, seed: 1)
        var reader = StateReader(writer.bytes)
        try restored.readState(from: &reader)
        let fresh = ItemRanker(approximation: ApproximateRanking(minimumItems: 1_000, candidates: 100))
        #expect(fresh.topK(user: 3, k: 10, model: restored, excluding: .none).map(\.item)
            == ranker.topK(user: 3, k: 10, model: model, excluding: .none).map(\.item))
    }

    @Test("a query or row that is not finite does not trap the quantiser")
    func nonFinite() {
        let model = Self.model(items: 2_000)
        model.items.row(5)[0] = .nan
        model.users.row(2)[1] = .infinity
        let ranker = ItemRanker(approximation: ApproximateRanking(minimumItems: 1_000, candidates: 50))
        _ = ranker.topK(user: 2, k: 5, model: model, excluding: .none)
        _ = ranker.topK(user: 1, k: 5, model: model, excluding: .none)
    }
}

@Suite("Packed scoring kernel")
struct PackedScoringTests {
    @Test("six users at a time score like one at a time", arguments: [1, 5, 6])
    func matchesRowScoring(users: Int) {
        var configuration = ModelConfiguration()
        configuration.dimension = 20
        configuration.initialStandardDeviation = 1
        let model = MatrixFactorization(configuration: configuration)
        model.growUsers(to: 6)
        model.growItems(to: 1_000 + 7)
        let panels = PackedItemPanels(rows: model.items.storage, count: model.itemCount, stride: model.stride, dimension: model.stride)
        let queries = UnsafeMutablePointer<Float>.allocate(capacity: 6 * model.stride)
        defer { queries.deallocate() }
        for user in 0..<users { (queries + user * model.stride).update(from: model.users.row(Int32(user)), count: model.stride) }
        let output = UnsafeMutablePointer<Float>.allocate(capacity: 6 * model.itemCount)
        defer { output.deallocate() }
        panels.score(queries: queries, users: users, queryStride: model.stride, into: output, outputStride: model.itemCount)
        let reference = UnsafeMutablePointer<Float>.allocate(capacity: model.itemCount)
        defer { reference.deallocate() }
        var worst: Float = 0
        for user in 0..<users {
            VectorKernels.scoreRows(model.items.storage, count: model.itemCount, stride: model.stride,
                                    query: model.users.row(Int32(user)), bias: nil, into: reference)
            for item in 0..<model.itemCount { worst = max(worst, abs(output[user * model.itemCount + item] - reference[item])) }
        }
        #expect(worst < 1e-4)
    }
}
