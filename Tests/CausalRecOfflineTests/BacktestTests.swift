import CausalRecCore
@testable import CausalRecOffline
import Foundation
import Logging
import Testing

@Suite("Offline backtests")
struct BacktestTests {
    /// A small SELFRec-format dataset with clustered preferences, gzip'd like ../shared/data.
    static func makeDataset(withExposures: Bool = false) throws -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("backtest-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var random = Xoshiro256(seed: 11)
        var splits: [String: [String]] = ["train": [], "valid_iid": [], "test": [], "test_iid": []]
        for user in 0..<120 {
            let cluster = user % 4
            var items = Set<Int>()
            while items.count < 14 { items.insert(cluster * 25 + random.nextIndex(below: 25)) }
            // Random order, so every split is a fair sample of the user's items.
            var ordered = items.sorted()
            for position in stride(from: ordered.count - 1, to: 0, by: -1) {
                ordered.swapAt(position, random.nextIndex(below: position + 1))
            }
            for (index, item) in ordered.enumerated() {
                let split = index < 8 ? "train" : (index < 10 ? "valid_iid" : (index < 12 ? "test" : "test_iid"))
                splits[split]!.append("\(user) \(item) 1")
            }
            if withExposures {
                for _ in 0..<4 { splits["train"]!.append("\(user) \(random.nextIndex(below: 100)) 0") }
            }
        }
        // Every test item must be known from training: add one training interaction per item.
        for item in 0..<100 { splits["train"]!.append("\(200 + item % 5) \(item) 1") }
        for (name, lines) in splits {
            let path = (directory as NSString).appendingPathComponent("\(name).txt")
            try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
            if name != "valid_iid" {
                let gzip = Process()
                gzip.executableURL = URL(fileURLWithPath: "/usr/bin/env")
                gzip.arguments = ["gzip", "-f", path]
                try gzip.run()
                gzip.waitUntilExit()
            }
        }
        return directory
    }

    static func options(_ directory: String) -> BacktestOptions {
        var options = BacktestOptions(dataDirectory: directory)
        options.samplers = [SamplerConfiguration(kind: .random), SamplerConfiguration(kind: .dns)]
        options.epochs = 6
        options.patience = 3
        options.seeds = 2
        options.batchSize = 128
        options.model.dimension = 16
        options.model.learningRate = 0.01
        options.model.threads = 2
        return options
    }

    static var logger: Logger {
        var logger = Logger(label: "backtest-tests")
        logger.logLevel = .warning
        return logger
    }

    @Test("records for every sampler × seed × split, plus the floors; learning beats the untrained floor")
    func endToEnd() throws {
        let directory = try Self.makeDataset()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let runner = BacktestRunner(options: Self.options(directory), logger: Self.logger, progress: BacktestProgress(enabled: false))
        let records = try runner.run()
        let expectedSamplers: Set<String> = ["random", "dns", "mostpop", "untrained"]
        #expect(Set(records.map(\.sampler)) == expectedSamplers)
        #expect(Set(records.map(\.split)) == ["valid_iid", "test", "test_iid"])
        #expect(records.count == expectedSamplers.count * 2 * 3)
        for record in records {
            #expect(Set(record.metrics.keys) == ["recall@10", "ndcg@10", "recall@20", "ndcg@20", "coverage@20", "avg_pop@20", "gini@20"])
            #expect(record.users == 120 || record.users > 0)
        }
        func mean(_ sampler: String, _ split: String) -> Double {
            let values = records.filter { $0.sampler == sampler && $0.split == split }.compactMap { $0.metrics["ndcg@20"] }
            return values.reduce(0, +) / Double(values.count)
        }
        #expect(mean("random", "test") > mean("untrained", "test") * 2)
        #expect(records.filter { $0.sampler == "random" }.allSatisfy { $0.epochs >= 1 && $0.validationNDCG20 != nil })
        #expect(runner.notes?.exposure.contains("interaction counts") == true)

        // The JSON has the fields outside checks rely on.
        let json = try JSONSerialization.jsonObject(with: BacktestReport.encode(records)) as? [[String: Any]]
        let first = try #require(json?.first)
        for key in ["sampler", "seed", "split", "epochs", "metrics"] { #expect(first[key] != nil, "\(key)") }
    }

    @Test("same seeds, same numbers")
    func deterministic() throws {
        let directory = try Self.makeDataset()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var options = Self.options(directory)
        options.samplers = [SamplerConfiguration(kind: .random)]
        options.seeds = 1
        let first = try BacktestRunner(options: options, logger: Self.logger, progress: BacktestProgress(enabled: false)).run()
        let second = try BacktestRunner(options: options, logger: Self.logger, progress: BacktestProgress(enabled: false)).run()
        #expect(first.map(\.metrics) == second.map(\.metrics))
    }

    @Test("validation carved from training, exposures from weight-0 rows, the exposed sampler")
    func carveAndExposures() throws {
        let directory = try Self.makeDataset(withExposures: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var options = Self.options(directory)
        options.validFraction = 0.2
        options.samplers = [SamplerConfiguration(kind: .exposed), SamplerConfiguration(kind: .popularity)]
        options.seeds = 1
        let runner = BacktestRunner(options: options, logger: Self.logger, progress: BacktestProgress(enabled: false))
        let records = try runner.run()
        #expect(Set(records.map(\.split)) == ["valid_carved", "test", "test_iid"])
        let notes = try #require(runner.notes)
        #expect((notes.validationCarved ?? 0) > 100)
        #expect(notes.exposure.contains("impressions"))
        #expect(Set(records.map(\.sampler)).isSuperset(of: ["exposed", "popularity"]))
    }

    @Test("JSON-lines event splits and a malformed SELFRec line are handled")
    func inputs() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("inputs-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let lines = [
            #"{"type":"impression","user":"a","items":["x","y"]}"#,
            #"{"type":"click","user":"a","item":"x"}"#,
            #"{"type":"request","user":"a"}"#,
        ]
        let path = (directory as NSString).appendingPathComponent("train.jsonl")
        try lines.joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
        let split = try DatasetSplit.load(name: "train", directory: directory)
        #expect(split.events.count == 3)
        #expect(split.positives.map(\.item) == ["x"])
        #expect(split.events.allSatisfy { $0.timestamp != nil })
        #expect(split.hasImpressions)

        try "1 2 1\nbroken\n".write(toFile: (directory as NSString).appendingPathComponent("bad.txt"), atomically: true, encoding: .utf8)
        #expect(throws: BacktestError.self) { try DatasetSplit.load(name: "bad", directory: directory) }
        #expect(throws: BacktestError.self) { try DatasetSplit.load(name: "missing", directory: directory) }
    }

    @Test("the deconfounded grid: γ and γ̃ chosen on validation, EASE and mostpop as records named so")
    func deconfoundedGridAndPeers() throws {
        let directory = try Self.makeDataset(withExposures: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var options = Self.options(directory)
        options.samplers = [SamplerConfiguration(kind: .random)]
        options.trainingExponents = [0, 0.15]
        options.rankingExponents = [0, 0.5, 2]
        options.coldStartClicks = 3
        options.easeLambdas = [1, 100]
        let records = try BacktestRunner(options: options, logger: Self.logger, progress: BacktestProgress(enabled: false)).run()
        #expect(Set(records.map(\.sampler)) == ["random", "mostpop", "untrained", "ease"])
        let ease = records.filter { $0.sampler == "ease" }
        #expect(ease.count == 2 * 3)
        #expect(ease.allSatisfy { [1, 100].contains($0.settings?.easeLambda ?? -1) && $0.validationNDCG20 != nil })
        let untrained = records.first { $0.sampler == "untrained" && $0.split == "test" }!.metrics["ndcg@20"]!
        #expect(ease.first { $0.split == "test" }!.metrics["ndcg@20"]! > 2 * untrained)
        for record in records where record.sampler == "random" {
            let settings = try #require(record.settings)
            #expect([0, 0.15].contains(settings.trainingExponent ?? -1))
            let ranking = try #require(settings.ranking)
            #expect([0, 0.5, 2].contains(ranking.exponent) && [0, 0.5, 2].contains(ranking.coldStartExponent))
            #expect(ranking.coldStartClicks == 3)
        }
        // The JSON names the chosen ranking.
        let json = try JSONSerialization.jsonObject(with: BacktestReport.encode(records)) as? [[String: Any]]
        let random = try #require(json?.first { $0["sampler"] as? String == "random" })
        let settings = try #require(random["settings"] as? [String: Any])
        #expect(settings["training_exponent"] != nil && settings["ranking"] != nil)
    }

    @Test("EASE above the item limit is refused with a message naming the limit")
    func easeRefusesLargeCatalogues() throws {
        let directory = try Self.makeDataset()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var options = Self.options(directory)
        options.easeLambdas = [10]
        options.easeMaxItems = 50
        do {
            _ = try BacktestRunner(options: options, logger: Self.logger, progress: BacktestProgress(enabled: false)).run()
            Issue.record("EASE ran over 100 items with a limit of 50")
        } catch {
            #expect("\(error)".contains("above the limit of 50 items (--ease-max-items)"))
        }
    }

    @Test("a split named twice (the validation split listed as a test, a test repeated) is refused, not merged")
    func splitNamedTwice() throws {
        let directory = try Self.makeDataset()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        for tests in [[Self.options(directory).validSplit], ["test", "test"]] {
            var options = Self.options(directory)
            options.testSplits = tests
            do {
                _ = try BacktestRunner(options: options, logger: Self.logger, progress: BacktestProgress(enabled: false)).run()
                Issue.record("tests \(tests) were accepted")
            } catch {
                #expect("\(error)".contains("is named twice"), "\(error)")
            }
        }
    }

    @Test("EASE's closed form: B = I − P·diag(1/diag P), P = (XᵀX + λI)⁻¹, zero diagonal")
    func easeClosedForm() throws {
        let clicked: [[Int32]] = [[0, 1], [1, 2, 3], [0, 3], [2], [0, 1, 2, 3, 4], [4]]
        let n = 5, lambda = 2.0
        // P by Gauss–Jordan on [G + λI | I].
        var a = [[Double]](repeating: [Double](repeating: 0, count: 2 * n), count: n)
        for list in clicked { for i in list { for j in list { a[Int(i)][Int(j)] += 1 } } }
        for i in 0..<n { a[i][i] += lambda; a[i][n + i] = 1 }
        for column in 0..<n {
            let pivot = a[column][column]
            for j in 0..<(2 * n) { a[column][j] /= pivot }
            for row in 0..<n where row != column {
                let factor = a[row][column]
                for j in 0..<(2 * n) { a[row][j] -= factor * a[column][j] }
            }
        }
        let p = a.map { Array($0[n...]) }
        let scorer = try EASEScorer(clicked: clicked, items: n, lambda: lambda, maxItems: 10)
        for user in 0..<clicked.count {
            var scores = [Float](repeating: 0, count: n)
            scores.withUnsafeMutableBufferPointer { scorer.scores(for: Int32(user), into: $0) }
            for j in 0..<n {
                let expected = clicked[user].reduce(0.0) { sum, i in Int(i) == j ? sum : sum - p[Int(i)][j] / p[j][j] }
                #expect(abs(Double(scores[j]) - expected) < 1e-5, "user \(user) item \(j)")
            }
        }
    }

    @Test("the chosen ranking: best γ̃ per cohort within the better confounder")
    func chooseRanking() {
        let variants = [RankingVariant(exponent: 0), RankingVariant(exponent: 1), RankingVariant(exponent: 0, confounder: .clicks),
                        RankingVariant(exponent: 1, confounder: .clicks)]
        // Users 0, 1 are cold (1 click), users 2, 3 warm (5 clicks).
        let perVariant: [[Double]] = [[0.1, 0.1, 0.3, 0.3], [0.2, 0.2, 0.1, 0.1], [0.1, 0.1, 0.3, 0.3], [0.4, 0.4, 0.2, 0.2]]
        let (chosen, ndcg) = BacktestRunner.chooseRanking(perVariant, variants: variants, clicks: [1, 1, 5, 5], coldStartClicks: 3)
        #expect(chosen == RankingVariant(exponent: 0, coldStartExponent: 1, coldStartClicks: 3, confounder: .clicks))
        #expect(abs(ndcg - 0.35) < 1e-12)
    }
}
