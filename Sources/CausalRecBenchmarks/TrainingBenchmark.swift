import CausalRecOffline
import CausalRecPipeline
import CausalRecCore

/// BPR training throughput (triplets per second, negative sampling included) per sampler,
/// optimizer and thread count — one epoch is one triplet per training positive, as in `implicit` —
/// on a synthetic interaction set shaped like the Food split (7,700 users, 6,300 items, 106,000
/// positives, Zipf-popular items) so it needs no data files, or on a given SELFRec train file.
public struct TrainingBenchmark: Sendable {
    public var users = 7_700
    public var items = 6_300
    public var positives = 106_000
    public var epochs = 10
    public var dimension = 64
    public var batchSize = 8_192
    /// A SELFRec training file to use instead of the synthetic interactions (e.g. Food's).
    public var trainFile: String?

    public init() {}

    public struct Variant: Sendable {
        public var sampler: SamplerKind
        public var optimizer: OptimizerKind
        public var threads: Int
        /// γ of the deconfounded training score; 0 trains plain BPR (named `.gamma0`).
        public var trainingExponent: Double

        public init(sampler: SamplerKind, optimizer: OptimizerKind, threads: Int,
                    trainingExponent: Double = DeconfoundingConfiguration().trainingExponent)
        {
            self.sampler = sampler
            self.optimizer = optimizer
            self.threads = threads
            self.trainingExponent = trainingExponent
        }

        var name: String {
            "train.\(sampler.rawValue).\(optimizer.rawValue).\(threads)t" + (trainingExponent == 0 ? ".gamma0" : "")
        }
    }

    public static let defaultVariants: [Variant] = [
        Variant(sampler: .random, optimizer: .sgd, threads: 1),
        Variant(sampler: .random, optimizer: .sgd, threads: 2),
        Variant(sampler: .random, optimizer: .sgd, threads: 1, trainingExponent: 0),
        Variant(sampler: .random, optimizer: .adam, threads: 1),
        Variant(sampler: .random, optimizer: .adam, threads: 2),
        Variant(sampler: .popularity, optimizer: .adam, threads: 1),
        Variant(sampler: .dns, optimizer: .adam, threads: 1),
        Variant(sampler: .exposed, optimizer: .adam, threads: 1),
        Variant(sampler: .causal, optimizer: .adam, threads: 1),
        Variant(sampler: .causal, optimizer: .adam, threads: 2),
        Variant(sampler: .cnsdiff, optimizer: .adam, threads: 1),
        Variant(sampler: .cnsdiff, optimizer: .adam, threads: 2),
        Variant(sampler: .cnsdiffV1, optimizer: .adam, threads: 1),
    ]

    /// Deterministic (user, item) pairs with Zipf item popularity.
    func interactions() throws -> [(String, String)] {
        if let trainFile {
            return try DatasetSplit.load(name: "train", path: trainFile).positives.map { ($0.user, $0.item) }
        }
        var random = Xoshiro256(seed: 7)
        let weights = (0..<items).map { 1 / Double($0 + 1) }
        let table = AliasTable(weights: weights)
        return (0..<positives).map { _ in ("u\(random.nextIndex(below: users))", "i\(table.sample(&random))") }
    }

    public func run(_ variants: [Variant] = TrainingBenchmark.defaultVariants) throws -> [BenchmarkRecord] {
        let pairs = try interactions()
        var rates: [String: Double] = [:]
        return variants.map { variant -> BenchmarkRecord in
            var configuration = RecommenderConfiguration()
            configuration.model.dimension = dimension
            configuration.model.optimizer = variant.optimizer
            configuration.model.threads = variant.threads
            configuration.deconfounding.trainingExponent = variant.trainingExponent
            configuration.model.learningRate = variant.optimizer == .sgd ? 0.01 : 0.001
            configuration.sampler = SamplerConfiguration(kind: variant.sampler)
            configuration.sampler.cnsdiff.curriculumPositives = pairs.count * epochs
            configuration.trainingBatchSize = batchSize
            configuration.recentPositivesPerPositive = 0
            configuration.evaluateEveryNthClick = 0
            let recommender = OnlineRecommender(configuration: configuration)
            let engine = StreamEngine(recommender: recommender)
            var examples: [PositiveExample] = []
            for (index, (user, item)) in pairs.enumerated() {
                let timestamp = 1_700_000_000_000 + Int64(index)
                if variant.sampler == .exposed || variant.sampler == .causal {
                    // Give the exposed and causal samplers something to draw: a shown-but-skipped neighbour.
                    let neighbour = pairs[(index + 1) % pairs.count].1
                    engine.step(.impression(Impression(user: user, items: [item, neighbour], timestamp: timestamp)),
                                fallbackTimestamp: 0, mode: .record)
                }
                if let positive = engine.step(.click(Click(user: user, item: item, timestamp: timestamp)), fallbackTimestamp: 0,
                                              mode: .record).positive {
                    examples.append(positive)
                }
            }
            // One untimed epoch warms caches and grows the scratch tables.
            examples.withUnsafeBufferPointer { recommender.train(on: $0) }
            let rate = EventDecodingBenchmark.rate(examples.count * epochs) {
                for _ in 0..<epochs {
                    examples.withUnsafeBufferPointer { recommender.train(on: $0) }
                }
            }
            let name = variant.name + (trainFile == nil ? "" : ".data")
            rates[name] = rate
            return BenchmarkRecord(name: name, value: rate, unit: "triplets/s")
        }.map { record in
            // The causal and generative samplers are compared with uniform sampling at the same
            // optimiser and threads.
            guard let sampler = ["train.cnsdiff.", "train.causal."].first(where: record.name.hasPrefix),
                  let reference = rates[record.name.replacingOccurrences(of: sampler, with: "train.random.")] else { return record }
            return BenchmarkRecord(name: record.name, value: record.value, unit: record.unit, reference: reference,
                                   referenceName: "random sampler, same optimiser and threads, same run")
        }
    }
}
