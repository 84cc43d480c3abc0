import CausalRecCore
import Foundation
import Logging

/// Offline backtests (the evaluation protocol in results/README.md): train on a split with the same core code as `run`, select the
/// epoch and hyper-parameters on validation NDCG@20, report the test splits — for several
/// samplers side by side on the same data, seeds and budget, with the most-popular and untrained
/// floors computed by the same metric code.
public final class BacktestRunner {
    public let options: BacktestOptions
    let logger: Logger
    private let progress: BacktestProgress
    /// Records of an earlier, interrupted run: (sampler, seed) pairs found here are not run again.
    public var completed: [BacktestRecord] = []
    /// Called with every (sampler, seed) batch of records as soon as it is done, so a long run
    /// can be saved as it goes and resumed.
    public var onRecords: ([BacktestRecord]) throws -> Void = { _ in }

    public init(options: BacktestOptions, logger: Logger, progress: BacktestProgress = BacktestProgress()) {
        self.options = options
        self.logger = logger
        self.progress = progress
    }

    /// What was dropped from each evaluation split and why, and how validation was made.
    public struct DataNotes: Sendable, Codable {
        public var trainPositives: Int
        public var users: Int
        public var items: Int
        public var exposure: String
        public var validationCarved: Int?
        public var droppedUnknownUser: [String: Int]
        public var droppedUnknownItem: [String: Int]
        public var droppedTrainingPositive: [String: Int]
        public var evaluatedUsers: [String: Int]
    }

    public private(set) var notes: DataNotes?

    static func recommenderConfiguration(options: BacktestOptions, sampler: SamplerConfiguration,
                                         model: ModelConfiguration, seed: UInt64) -> RecommenderConfiguration
    {
        var configuration = RecommenderConfiguration()
        configuration.model = model
        configuration.model.seed = seed
        configuration.seed = seed
        configuration.sampler = sampler
        configuration.trainingBatchSize = options.batchSize
        configuration.recentPositivesPerPositive = 0
        configuration.recentPositivesCapacity = 0
        configuration.evaluateEveryNthClick = 0
        configuration.exposure.source = options.exposureSource
        return configuration
    }

    /// Evaluates factors trained elsewhere (files of `id v1 v2 …` lines, ids as in the dataset)
    /// on the same splits with the same metric code; `name` becomes the records' sampler.
    public func scoreFactors(usersFile: String, itemsFile: String, name: String) throws -> [BacktestRecord] {
        let data = try BacktestData.load(options)
        let reference = OnlineRecommender(configuration: Self.recommenderConfiguration(
            options: options, sampler: SamplerConfiguration(), model: options.model, seed: 0))
        _ = data.recordTraining(into: reference)
        let context = data.evaluationContext(for: reference, threads: options.model.threads)
        func read(_ path: String, rows: Int, lookup: (String) -> Int32?) throws -> (vectors: [[Float]], dimension: Int) {
            var vectors = [[Float]](repeating: [], count: rows)
            var dimension = 0
            try DatasetSplit.forEachLine(path, maxLineBytes: 1 << 24) { lineNumber, bytes in
                let number = lineNumber - 1
                let line = String(decoding: bytes, as: UTF8.self)
                let fields = line.split(separator: " ")
                guard fields.count >= 2 else { throw BacktestError.malformed(path: path, line: number + 1, reason: "expected 'id v1 v2 ...'") }
                guard let row = lookup(String(fields[0])) else { return }
                let values = try fields.dropFirst().map { field -> Float in
                    guard let value = Float(field) else { throw BacktestError.malformed(path: path, line: number + 1, reason: "'\(field)' is not a number") }
                    return value
                }
                dimension = max(dimension, values.count)
                vectors[Int(row)] = values
            }
            return (vectors, dimension)
        }
        let users = try read(usersFile, rows: context.users) { reference.userRow(ofKnown: $0) }
        let items = try read(itemsFile, rows: context.items) { reference.itemRow(ofKnown: $0) }
        let scorer = FactorScorer(dimension: max(users.dimension, items.dimension), users: users.vectors, items: items.vectors)
        return context.splits.map { split in
            record(sampler: name, seed: 0, split: split.name, epochs: 0, metrics: context.evaluator.evaluate(scorer, on: split), settings: nil)
        }
    }

    public func run() throws -> [BacktestRecord] {
        let data = try BacktestData.load(options)
        // The notes describe the plain registration (no impression tracking), as the floors use.
        let reference = OnlineRecommender(configuration: Self.recommenderConfiguration(
            options: options, sampler: SamplerConfiguration(), model: options.model, seed: options.firstSeed))
        _ = data.recordTraining(into: reference)
        let referenceContext = data.evaluationContext(for: reference, threads: options.model.threads)
        notes = DataNotes(
            trainPositives: data.train.positives.count, users: referenceContext.users, items: referenceContext.items,
            exposure: data.train.hasImpressions ? "impressions (rows of weight 0 are exposures without a click)"
                : "interaction counts (the data has no impressions)",
            validationCarved: data.validationCarved,
            droppedUnknownUser: referenceContext.dropped.mapValues(\.unknownUser),
            droppedUnknownItem: referenceContext.dropped.mapValues(\.unknownItem),
            droppedTrainingPositive: referenceContext.dropped.mapValues(\.trainingPositive),
            evaluatedUsers: Dictionary(uniqueKeysWithValues: referenceContext.splits.map { ($0.name, $0.relevant.count) }))
        var records: [BacktestRecord] = []
        let seeds = (0..<options.seeds).map { options.firstSeed + UInt64($0) }
        progress.begin(total: options.samplers.count * seeds.count * options.grid.count * options.epochs)

        func done(_ sampler: String, _ seed: UInt64) -> Bool {
            completed.contains { $0.sampler == sampler && $0.seed == seed }
        }
        records += completed
        if options.includeFloors {
            let popularity = PopularityScorer(clickCounts: reference.history.clickCounts)
            for seed in seeds where !(done("mostpop", seed) && done("untrained", seed)) {
                var floors: [BacktestRecord] = []
                defer { records += floors }
                for split in referenceContext.splits {
                    floors.append(record(sampler: "mostpop", seed: seed, split: split.name, epochs: 0,
                                         metrics: referenceContext.evaluator.evaluate(popularity, on: split), settings: nil))
                }
                let untrained = OnlineRecommender(configuration: Self.recommenderConfiguration(
                    options: options, sampler: SamplerConfiguration(), model: options.model, seed: seed))
                _ = data.recordTraining(into: untrained)
                let context = data.evaluationContext(for: untrained, threads: options.model.threads)
                for split in context.splits {
                    floors.append(record(sampler: "untrained", seed: seed, split: split.name, epochs: 0,
                                         metrics: context.evaluator.evaluate(untrained.model, on: split), settings: nil))
                }
                try onRecords(floors)
            }
        }

        if !options.easeLambdas.isEmpty && !seeds.allSatisfy({ done("ease", $0) }) {
            let peer = try ease(reference: reference, context: referenceContext)
            for seed in seeds where !done("ease", seed) {
                let batch = peer.map { entry in
                    var copy = entry
                    copy.seed = seed
                    return copy
                }
                records += batch
                try onRecords(batch)
            }
        }

        for sampler in options.samplers {
            for seed in seeds {
                if done(sampler.name, seed) {
                    progress.skip(options.grid.count * options.epochs)
                    continue
                }
                var best: RunResult?
                for point in options.grid {
                    let result = train(data: data, sampler: sampler, point: point, seed: seed)
                    if best == nil || result.validationNDCG20 > best!.validationNDCG20 { best = result }
                }
                guard let best else { continue }
                var batch: [BacktestRecord] = []
                defer { records += batch }
                for (split, metrics) in best.metrics {
                    var entry = record(sampler: sampler.name, seed: seed, split: split, epochs: best.epoch,
                                       metrics: metrics, settings: best.settings)
                    entry.validationNDCG20 = best.validationNDCG20
                    entry.trainSeconds = best.trainSeconds
                    entry.samplesPerSecond = best.samplesPerSecond
                    entry.negatives = best.negatives
                    batch.append(entry)
                }
                try onRecords(batch)
                logger.info("\(options.datasetName) \(sampler.name) seed \(seed): epoch \(best.epoch) selected (validation NDCG@20 \(String(format: "%.4f", best.validationNDCG20)), lr \(best.settings.learningRate), l2 \(best.settings.l2)); negatives: exposure~hardness ρ \(String(format: "%.3f", best.negatives.exposureHardnessCorrelation)), cos to positive \(String(format: "%.3f", best.negatives.meanCosineToPositive)), score gap \(String(format: "%.3f", best.negatives.meanScoreGap)), below positive \(String(format: "%.2f", best.negatives.shareBelowPositive)), λ \(String(format: "%.2f", best.negatives.meanMix)), nearest-item cos \(String(format: "%.3f", best.negatives.meanNearestItemCosine))")
            }
        }
        progress.finish()
        return records
    }

    func record(sampler: String, seed: UInt64, split: String, epochs: Int, metrics: RankingMetrics,
                        settings: BacktestRecord.Settings?) -> BacktestRecord
    {
        BacktestRecord(dataset: options.datasetName, sampler: sampler, seed: seed, split: split, epochs: epochs,
                       metrics: metrics.dictionary, users: metrics.users, validationNDCG20: nil, settings: settings,
                       trainSeconds: nil, samplesPerSecond: nil)
    }

    struct RunResult {
        var epoch: Int
        var validationNDCG20: Double
        var metrics: [(String, RankingMetrics)]
        var settings: BacktestRecord.Settings
        var trainSeconds: Double
        var samplesPerSecond: Double
        var negatives = NegativeDiagnostics()
    }

    /// Trains for up to `epochs` epochs, keeping the test metrics of the epoch with the best
    /// validation NDCG@20 (early stop after `patience` epochs without improvement). At every
    /// epoch the ranking exponent γ̃ (per cohort with `coldStartClicks`) is chosen on validation.
    private func train(data: BacktestData, sampler: SamplerConfiguration, point: BacktestOptions.GridPoint, seed: UInt64) -> RunResult {
        let model = point.model
        var sampler = sampler
        // The curriculum runs over the whole epoch budget, as the released code's epoch/maxEpoch.
        sampler.cnsdiff.curriculumPositives = max(1, data.train.positives.count * options.epochs)
        sampler.cnsdiff.seed = SplitMix64.mix(seed, 0xD1FF)
        var configuration = Self.recommenderConfiguration(options: options, sampler: sampler, model: model, seed: seed)
        configuration.deconfounding.trainingExponent = point.trainingExponent
        let recommender = OnlineRecommender(configuration: configuration)
        var positives = data.recordTraining(into: recommender)
        let context = data.evaluationContext(for: recommender, threads: model.threads)
        let evaluator = context.evaluator
        // What the adjusted ranking multiplies by: the exposure estimate at the end of the training
        // split (impressions, or the training clicks where the split has none), or the training
        // click counts (popularity as the confounder).
        let floor = configuration.deconfounding.exposureFloor
        var exposureAdjustment = ExposureAdjustment()
        exposureAdjustment.refresh(from: recommender.exposure, floor: floor, refreshEvery: 1)
        let adjustments: [RankingVariant.Confounder: ExposureAdjustment] = [
            .exposure: exposureAdjustment, .clicks: ExposureAdjustment(counts: recommender.history.clickCounts, floor: floor),
        ]
        let variants = options.confounders.flatMap { confounder in
            options.rankingExponents.map { RankingVariant(exponent: $0, confounder: confounder) }
        }
        let validationClicks = context.validation.relevant.keys.sorted().map { recommender.history.clickCount(of: $0) }
        var settings = BacktestRecord.Settings(
            dimension: model.dimension, optimizer: model.optimizer.rawValue, learningRate: model.learningRate, l2: model.l2,
            batchSize: options.batchSize, threads: model.threads,
            popularityAlpha: sampler.kind == .popularity ? sampler.popularityExponent : nil,
            dnsCandidates: sampler.kind == .dns ? sampler.dnsCandidates : nil,
            causal: sampler.kind == .causal ? sampler.causal : nil,
            trainingExponent: point.trainingExponent)
        var shuffle = Xoshiro256(seed: SplitMix64.mix(seed, 0x5348_5546))
        var result = RunResult(epoch: 0, validationNDCG20: -1, metrics: [], settings: settings, trainSeconds: 0, samplesPerSecond: 0)
        var sinceBest = 0
        // Early stopping watches the model itself too: an adjusted ranking can lead from the first
        // epoch (it leans on popularity) while the deconfounded score is still improving.
        let plainVariant = variants.firstIndex { $0.exponent == 0 && $0.coldStartExponent == 0 }
        var bestPlain = -1.0
        var trainingTime = Duration.zero
        var trained = 0
        let clock = ContinuousClock()
        for epoch in 1...options.epochs {
            for index in stride(from: positives.count - 1, to: 0, by: -1) {
                positives.swapAt(index, shuffle.nextIndex(below: index + 1))
            }
            trainingTime += clock.measure {
                positives.withUnsafeBufferPointer { recommender.train(on: $0) }
            }
            trained += positives.count
            let perVariant = evaluator.evaluate(recommender.model, on: context.validation, variants: variants, adjustments: adjustments)
            let (ranking, validationNDCG) = Self.chooseRanking(perVariant.map(\.userNDCG20), variants: variants,
                                                                clicks: validationClicks, coldStartClicks: options.coldStartClicks)
            progress.step(label: "\(options.datasetName) \(sampler.name) seed \(seed) lr \(model.learningRate) l2 \(model.l2) γ \(point.trainingExponent) epoch \(epoch)/\(options.epochs)",
                          examples: positives.count, validationNDCG: validationNDCG)
            var improved = false
            if let plainVariant {
                let plain = perVariant[plainVariant].metrics.ndcg20
                if plain > bestPlain { bestPlain = plain; improved = true }
            }
            if validationNDCG > result.validationNDCG20 {
                improved = true
                result.epoch = epoch
                result.validationNDCG20 = validationNDCG
                settings.ranking = ranking
                result.settings = settings
                result.metrics = ([context.validation] + context.tests).map {
                    ($0.name, evaluator.evaluate(recommender.model, on: $0, variants: [ranking], adjustments: adjustments)[0].metrics)
                }
            }
            if improved {
                sinceBest = 0
            } else {
                sinceBest += 1
                if sinceBest >= options.patience {
                    progress.skip(options.epochs - epoch)
                    break
                }
            }
        }
        let seconds = trainingTime.inSeconds
        var sampleRandom = Xoshiro256(seed: 2_025)
        let sample = (0..<min(2_000, positives.count)).map { _ in positives[sampleRandom.nextIndex(below: positives.count)] }
        result.negatives = recommender.training.diagnoseNegatives(sample)
        result.trainSeconds = seconds
        result.samplesPerSecond = seconds > 0 ? Double(trained) / seconds : 0
        return result
    }
}
