import CausalRecCore

/// Top-20 latency over 10k, 100k and 1M items (dimension 64) as the service ranks (exact below
/// `ApproximateRanking.minimumItems`, 8-bit pre-scan plus exact re-rank above), the exact scan
/// alone, and the time to merely read the fp32 item table once (a streaming sum), all in the same
/// run: the ratios say how far each is from the memory-bandwidth bound. The approximate answer's
/// recall@20 against the exact top-20 and the bytes per item of each table are reported beside.
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
            // Item biases as a trained model has them (the initial ones are all zero).
            var random = Xoshiro256(seed: 17)
            for item in 0..<size { model.itemBias[item] = Float(random.nextGaussian()) }
            let service = ItemRanker(approximation: ApproximateRanking())
            let exact = ItemRanker()
            var checksum: Float = 0
            func query(_ user: Int) -> UnsafePointer<Float> { UnsafePointer(model.users.row(Int32(user))) }
            // Warm-up (and the 8-bit copy's first build, which the service does once).
            _ = service.topK(user: 0, k: 20, model: model, excluding: .none)
            _ = exact.exactTopK(query: query(0), k: 20, model: model, excluding: .none)
            let served = Self.milliseconds(queries) {
                for user in 0..<queries { checksum += service.topK(user: Int32(user), k: 20, model: model, excluding: .none).first?.score ?? 0 }
            }
            let exactTime = Self.milliseconds(queries) {
                for user in 0..<queries { checksum += exact.exactTopK(query: query(user), k: 20, model: model, excluding: .none).first?.score ?? 0 }
            }
            var found = 0
            for user in 0..<queries {
                let truth = Set(exact.exactTopK(query: query(user), k: 20, model: model, excluding: .none).map(\.item))
                found += service.topK(user: Int32(user), k: 20, model: model, excluding: .none).filter { truth.contains($0.item) }.count
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
            let label = "\(size / 1000)k_items"
            let approximate = ApproximateRanking().applies(to: size)
            var records = [
                BenchmarkRecord(name: "topk20.\(label)", value: served, unit: "ms/query", reference: scan,
                                referenceName: approximate ? "one streaming read of the fp32 item table (8-bit pre-scan + exact re-rank of 400)"
                                    : "one streaming read of the fp32 item table (exact scan below 100k items)"),
                BenchmarkRecord(name: "topk20_exact.\(label)", value: exactTime, unit: "ms/query", reference: scan,
                                referenceName: "one streaming read of the fp32 item table"),
            ]
            if approximate {
                records.append(BenchmarkRecord(name: "topk20.\(label).recall@20", value: Double(found) / Double(20 * queries),
                                               unit: "of the exact top-20"))
                // fp32 row + the two Adam moments + bias and its two moments, and the 8-bit copy.
                let modelBytes = model.stride * 4 * 3 + 4 * 3
                records.append(BenchmarkRecord(name: "memory.item_bytes", value: Double(modelBytes + service.quantizedBytesPerItem),
                                               unit: "bytes/item (fp32 row \(model.stride * 4), Adam moments \(model.stride * 8), bias + moments 12, 8-bit copy \(service.quantizedBytesPerItem))"))
            }
            return records
        }
    }

    static func milliseconds(_ repetitions: Int, _ body: () -> Void) -> Double {
        let elapsed = ContinuousClock().measure(body)
        return elapsed.inSeconds * 1e3 / Double(repetitions)
    }
}
