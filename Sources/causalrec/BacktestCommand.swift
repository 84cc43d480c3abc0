import ArgumentParser
import CausalRecOffline
import CausalRecCore
import CausalRecPipeline
import Foundation

struct BacktestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backtest",
        abstract: "Offline OOD backtest: train on a split, select on validation NDCG@20, report the test splits."
    )

    @Option(help: "Dataset directory (train.txt[.gz], valid_iid, test, test_iid; SELFRec lines or JSON-lines events).")
    var data: String

    @Option(help: "Sampler(s), comma-separated: \(SamplerConfiguration.names.joined(separator: ", ")).")
    var sampler = "causal"

    @Option(help: "Maximum epochs (1 = a single pass).")
    var epochs = BacktestOptions.Recommended.epochs

    @OptionGroup var seedRange: SeedOptions

    @Option(help: "Write all records as one JSON list here.")
    var json: String?

    @Option(help: "Write <sampler>.json files and README.md here (e.g. results/<dataset>).")
    var out: String?

    @Option(help: "Training split name.")
    var train = "train"

    @Option(help: "Validation split name.")
    var valid = "valid_iid"

    @Option(help: "Test split names, comma-separated.")
    var test = "test,test_iid"

    @Option(name: .customLong("valid-fraction"), help: "Carve validation from the training split (share of each user's positives).")
    var validFraction: Double?

    @Option(help: "Embedding dimension.")
    var dim = 64

    @Option(help: "Learning rate (ignored with --grid-lr).")
    var lr: Float = 0.001

    @Option(help: "L2 weight (ignored with --grid-l2).")
    var l2: Float = 0.01

    @Option(name: .customLong("grid-lr"), help: "Learning rates to try, comma-separated (chosen on validation); empty = --lr.")
    var gridLR = BacktestOptions.Recommended.learningRates

    @Option(name: .customLong("grid-l2"), help: "L2 weights to try, comma-separated (chosen on validation); empty = --l2.")
    var gridL2 = BacktestOptions.Recommended.l2Weights

    @Option(name: .customLong("training-exponents"), help: "γ of the deconfounded training score g(x)·r^γ to try, comma-separated (0 = plain BPR; chosen on validation).")
    var trainingExponents = BacktestOptions.Recommended.trainingExponents

    @Option(name: .customLong("ranking-exponents"), help: "γ̃ of the adjusted ranking g(x)·r^γ̃ to try at every epoch, comma-separated (0 = deconfounded; chosen on validation).")
    var rankingExponents = BacktestOptions.Recommended.rankingExponents

    @Option(help: "What the adjusted ranking may multiply by, comma-separated: exposure (the estimator), clicks (training click counts); chosen on validation with γ̃.")
    var confounders = BacktestOptions.Recommended.confounders

    @Option(name: .customLong("cold-start-clicks"), help: "Users with fewer training clicks get their own γ̃, chosen on validation (0 = one γ̃ for all).")
    var coldStartClicks = BacktestOptions.Recommended.coldStartClicks

    @Option(name: .customLong("exposure-source"), help: "What counts as exposure: impressions, clicks (interaction counts) or auto (impressions when the data has them).")
    var exposureSource = "auto"

    @Option(name: .customLong("ease-lambdas"), help: "EASE peer: λ values to try, comma-separated (chosen on validation); empty = no EASE.")
    var easeLambdas = BacktestOptions.Recommended.easeLambdas

    @Option(name: .customLong("ease-max-items"), help: "Refuse EASE above this many items (its matrix needs 8·n² bytes and O(n³) time).")
    var easeMaxItems = 20_000

    @Option(name: .customLong("batch-size"), help: "Positives per training batch.")
    var batchSize = 1_024

    @Option(help: "Optimizer: adam or sgd.")
    var optimizer = "adam"

    @Option(help: "Threads for training and evaluation.")
    var threads = 2

    @Option(help: "Epochs without a better validation NDCG@20 before stopping.")
    var patience = BacktestOptions.Recommended.patience

    @OptionGroup var samplerOptions: SamplerOptions

    @Flag(name: .customLong("no-floors"), help: "Skip the most-popular and untrained floors.")
    var noFloors = false

    @Flag(help: "No progress bar.")
    var quiet = false

    @Flag(help: "With --out: keep the (sampler, seed) results already in DIR and run only the missing ones; save as each finishes.")
    var resume = false

    @Option(name: .customLong("score-factors"), help: "Instead of training: evaluate USERS_FILE,ITEMS_FILE factors (lines 'id v1 v2 ...') from elsewhere.")
    var scoreFactors: String?

    @Option(help: "With --score-factors: the name to report them under.")
    var name = "external"

    func run() throws {
        let logger = CommandSupport.makeLogger()
        var options = BacktestOptions(dataDirectory: data)
        options.trainSplit = train
        options.validSplit = valid
        options.validFraction = validFraction
        options.testSplits = test.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        options.samplers = try samplerOptions.configurations(sampler)
        guard let optimizerKind = OptimizerKind(rawValue: optimizer) else { throw ValidationError("--optimizer must be adam or sgd") }
        guard epochs >= 1, seedRange.seeds >= 1, dim >= 1, batchSize >= 1, threads >= 1, patience >= 1 else {
            throw ValidationError("--epochs, --seeds, --dim, --batch-size, --threads and --patience must be positive")
        }
        options.model.dimension = dim
        options.model.learningRate = lr
        options.model.l2 = l2
        options.model.optimizer = optimizerKind
        options.model.threads = threads
        options.batchSize = batchSize
        options.epochs = epochs
        options.patience = patience
        options.seeds = seedRange.seeds
        options.firstSeed = seedRange.firstSeed
        options.includeFloors = !noFloors
        func floats(_ text: String) throws -> [Float] {
            try text.split(separator: ",").map {
                guard let value = Float(String($0).trimmingCharacters(in: .whitespaces)) else { throw ValidationError("'\($0)' is not a number") }
                return value
            }
        }
        options.learningRates = try floats(gridLR)
        options.l2Weights = try floats(gridL2)
        func exponents(_ text: String, _ option: String) throws -> [Double] {
            let values = try text.split(separator: ",").map {
                guard let value = Double(String($0).trimmingCharacters(in: .whitespaces)) else { throw ValidationError("\(option): '\($0)' is not a number") }
                return value
            }
            guard let negative = values.first(where: { $0 < 0 }) else { return values }
            throw ValidationError("\(option): \(negative) is negative; exposure exponents are 0 or more")
        }
        options.trainingExponents = try exponents(trainingExponents, "--training-exponents")
        options.rankingExponents = try exponents(rankingExponents, "--ranking-exponents")
        guard !options.trainingExponents.isEmpty, !options.rankingExponents.isEmpty else {
            throw ValidationError("--training-exponents and --ranking-exponents need at least one value")
        }
        guard coldStartClicks >= 0, easeMaxItems >= 1 else { throw ValidationError("--cold-start-clicks must be 0 or more, --ease-max-items positive") }
        options.coldStartClicks = coldStartClicks
        options.confounders = try confounders.split(separator: ",").map {
            let name = String($0).trimmingCharacters(in: .whitespaces)
            guard let confounder = RankingVariant.Confounder(rawValue: name) else {
                throw ValidationError("--confounders: '\(name)' is not one of exposure, clicks")
            }
            return confounder
        }
        guard !options.confounders.isEmpty else { throw ValidationError("--confounders needs at least one of exposure, clicks") }
        options.easeLambdas = easeLambdas.isEmpty ? [] : try exponents(easeLambdas, "--ease-lambdas")
        guard options.easeLambdas.allSatisfy({ $0 > 0 }) else { throw ValidationError("--ease-lambdas must be positive") }
        options.easeMaxItems = easeMaxItems
        guard let source = ExposureSource(rawValue: exposureSource) else { throw ValidationError("--exposure-source must be impressions, clicks or auto") }
        options.exposureSource = source

        let runner = BacktestRunner(options: options, logger: logger, progress: BacktestProgress(enabled: !quiet))
        let command = (["causalrec"] + CommandLine.arguments.dropFirst()).joined(separator: " ")
        if let out, resume {
            runner.completed = try BacktestReport.load(directory: out).filter { $0.dataset == options.datasetName }
            var saved = runner.completed
            runner.onRecords = { batch in
                saved += batch
                try BacktestReport.write(saved, notes: nil, command: command, to: out)
            }
        }
        let records: [BacktestRecord]
        if let scoreFactors {
            let files = scoreFactors.split(separator: ",").map(String.init)
            guard files.count == 2 else { throw ValidationError("--score-factors takes USERS_FILE,ITEMS_FILE") }
            records = try runner.scoreFactors(usersFile: files[0], itemsFile: files[1], name: name)
        } else {
            records = try runner.run()
        }
        if let json {
            try BacktestReport.encode(records).write(to: URL(fileURLWithPath: json))
        }
        if let out {
            try BacktestReport.write(records, notes: runner.notes, command: command, to: out)
        }
        for split in Set(records.map(\.split)).sorted() {
            for name in Set(records.map(\.sampler)).sorted() {
                let values = records.filter { $0.split == split && $0.sampler == name }.compactMap { $0.metrics["ndcg@20"] }
                guard !values.isEmpty else { continue }
                let recalls = records.filter { $0.split == split && $0.sampler == name }.compactMap { $0.metrics["recall@20"] }
                print("\(options.datasetName) \(split) \(name): ndcg@20 \(BacktestReport.meanStd(values))  recall@20 \(BacktestReport.meanStd(recalls))")
            }
        }
    }
}
