import CausalRecCore

/// Exact top-20 latency over 10k, 100k and 1M items (dimension 64), against the time to merely
/// read the same item table once (a streaming sum) measured in the same run: the ratio says how
/// far the ranking is from the memory-bandwidth bound.
public struct RankingBenchmark: Sendable {
    public var sizes = [10_000, 100_000, 1_000_000]
    public var dimension = 64
    public var queries = 20

    public init() {}

    public func run() -> [BenchmarkRecord] {
        sizes.flatMap { size -> [BenchmarkRecord] in
            var configuration = ModelConfiguration()
            configuration.dimension = dimension
            configuration.initialStandardDeviation = 1
            let model = MatrixFactorization(configuration: configuration)
            model.growUsers(to: queries)
            model.growItems(to: size)
            let ranker = ItemRanker()
            _ = ranker.topK(user: 0, k: 20, model: model, excluding: .none)
            var checksum: Float = 0
            let topK = Self.milliseconds(queries) {
                for user in 0..<queries {
                    checksum += ranker.topK(user: Int32(user), k: 20, model: model, excluding: .none).first?.score ?? 0
                }
            }
            let floats = size * model.stride
            let scan = Self.milliseconds(queries) {
                for _ in 0..<queries {
                    var sum = VectorKernels.Chunk(repeating: 0)
                    let chunks = floats / 8
                    let base = UnsafeRawPointer(model.items.storage)
                    for chunk in 0..<chunks {
                        sum += base.load(fromByteOffset: chunk * 32, as: VectorKernels.Chunk.self)
                    }
                    checksum += sum.sum()
                }
            }
            precondition(checksum.isFinite || checksum.isNaN)
            return [BenchmarkRecord(name: "topk20.\(size / 1000)k_items", value: topK, unit: "ms/query", reference: scan,
                                    referenceName: "one streaming read of the same item table")]
        }
    }

    static func milliseconds(_ repetitions: Int, _ body: () -> Void) -> Double {
        let elapsed = ContinuousClock().measure(body)
        return elapsed.inSeconds * 1e3 / Double(repetitions)
    }
}
