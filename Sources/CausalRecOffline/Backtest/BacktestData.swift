import CausalRecCore

/// The evaluation splits and evaluator of one run.
struct EvaluationContext {
    var validation: EvaluationSplit
    var tests: [EvaluationSplit]
    var dropped: [String: BacktestData.Dropped]
    var evaluator: OfflineEvaluator
    var users: Int
    var items: Int

    var splits: [EvaluationSplit] { [validation] + tests }
}

/// A loaded dataset: the training split and the evaluation splits, still as ids.
struct BacktestData {
    struct Dropped: Sendable, Codable, Equatable {
        var unknownUser = 0
        var unknownItem = 0
        var trainingPositive = 0
        var duplicate = 0
    }

    var train: DatasetSplit
    var validation: DatasetSplit
    var tests: [DatasetSplit]
    var validationCarved: Int?

    static func load(_ options: BacktestOptions) throws -> BacktestData {
        // Results are keyed by split name: a name used twice (a test split repeated, or the
        // validation split also listed as a test) would make two splits one.
        let validName = options.validFraction == nil ? options.validSplit : "valid_carved"
        var seen: Set<String> = [options.trainSplit, validName]
        for name in options.testSplits {
            guard seen.insert(name).inserted else {
                throw BacktestError.invalidOption(
                    "the split '\(name)' is named twice (train '\(options.trainSplit)', validation '\(validName)', tests \(options.testSplits.joined(separator: ", "))); every split must be a different one")
            }
        }
        var train = try DatasetSplit.load(name: options.trainSplit, directory: options.dataDirectory)
        var validation: DatasetSplit
        var carved: Int?
        if DatasetSplit.locate(options.validSplit, in: options.dataDirectory) != nil && options.validFraction == nil {
            validation = try DatasetSplit.load(name: options.validSplit, directory: options.dataDirectory)
        } else if let fraction = options.validFraction {
            (train, validation) = carve(train, fraction: fraction, seed: options.splitSeed)
            carved = validation.positives.count
        } else {
            throw BacktestError.missingSplit(name: options.validSplit, directory: options.dataDirectory)
        }
        let tests = try options.testSplits.map { try DatasetSplit.load(name: $0, directory: options.dataDirectory) }
        return BacktestData(train: train, validation: validation, tests: tests, validationCarved: carved)
    }

    /// The evaluation splits in the rows of `recommender` (which has recorded the training
    /// split), with its training positives as masks. Row numbering depends on what the
    /// recommender tracks, so each run maps for itself.
    /// Steps the training split through `recommender` in record mode (ids, history, exposure;
    /// no training) — the same per-event step as the live service — and returns its positives,
    /// which the epochs then train on.
    func recordTraining(into recommender: OnlineRecommender) -> [PositiveExample] {
        let engine = StreamEngine(recommender: recommender)
        var positives: [PositiveExample] = []
        positives.reserveCapacity(train.positives.count)
        for event in train.events {
            if let positive = engine.step(event, fallbackTimestamp: DatasetSplit.baseTimestamp, mode: .record).positive {
                positives.append(positive)
            }
        }
        return positives
    }

    func evaluationContext(for recommender: OnlineRecommender, threads: Int) -> EvaluationContext {
        let masks = (0..<recommender.users.count).map { ExcludedItems(sorted: recommender.history.clicked(by: Int32($0))) }
        var dropped: [String: Dropped] = [:]
        func map(_ split: DatasetSplit) -> EvaluationSplit {
            var relevant: [Int32: [Int32]] = [:]
            var counts = Dropped()
            for (user, item) in split.positives {
                guard let userRow = recommender.userRow(ofKnown: user) else {
                    counts.unknownUser += 1
                    continue
                }
                guard let itemRow = recommender.itemRow(ofKnown: item) else {
                    counts.unknownItem += 1
                    continue
                }
                if Int(userRow) < masks.count && masks[Int(userRow)].contains(itemRow) {
                    counts.trainingPositive += 1
                    continue
                }
                relevant[userRow, default: []].append(itemRow)
            }
            var result: [Int32: ExcludedItems] = [:]
            for (user, items) in relevant {
                let unique = Array(Set(items)).sorted()
                counts.duplicate += items.count - unique.count
                result[user] = ExcludedItems(sorted: unique)
            }
            dropped[split.name] = counts
            return EvaluationSplit(name: split.name, relevant: result)
        }
        let validation = map(self.validation)
        let tests = self.tests.map(map)
        return EvaluationContext(validation: validation, tests: tests, dropped: dropped,
                                 evaluator: OfflineEvaluator(masks: masks, popularity: recommender.history.clickCounts,
                                                             threads: threads),
                                 users: recommender.users.count, items: recommender.items.count)
    }

    /// Moves a share of each user's positives (users with at least 2) from `train` into a
    /// validation split, with a fixed seed so every run sees the same carve-out.
    static func carve(_ train: DatasetSplit, fraction: Double, seed: UInt64) -> (DatasetSplit, DatasetSplit) {
        var byUser: [String: [Int]] = [:]
        for (index, event) in train.events.enumerated() {
            if case let .click(click) = event { byUser[click.user, default: []].append(index) }
        }
        var random = Xoshiro256(seed: seed)
        var heldOut = Set<Int>()
        for user in byUser.keys.sorted() {
            var indices = byUser[user]!
            guard indices.count >= 2 else { continue }
            let take = max(1, Int((Double(indices.count) * fraction).rounded()))
            for position in stride(from: indices.count - 1, to: 0, by: -1) {
                indices.swapAt(position, random.nextIndex(below: position + 1))
            }
            heldOut.formUnion(indices.prefix(min(take, indices.count - 1)))
        }
        var trainEvents: [Event] = []
        var trainPositives: [(user: String, item: String)] = []
        var validEvents: [Event] = []
        var validPositives: [(user: String, item: String)] = []
        for (index, event) in train.events.enumerated() {
            if case let .click(click) = event {
                if heldOut.contains(index) {
                    validEvents.append(event)
                    validPositives.append((click.user, click.item))
                } else {
                    trainEvents.append(event)
                    trainPositives.append((click.user, click.item))
                }
            } else {
                trainEvents.append(event)
            }
        }
        return (DatasetSplit(name: train.name, events: trainEvents, positives: trainPositives, path: train.path),
                DatasetSplit(name: "valid_carved", events: validEvents, positives: validPositives,
                             path: train.path))
    }
}
