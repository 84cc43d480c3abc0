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
