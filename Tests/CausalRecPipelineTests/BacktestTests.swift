import CausalRecCore
@testable import CausalRecPipeline
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
}
