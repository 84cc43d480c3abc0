import CausalRecCore
@testable import CausalRecOffline
import Foundation
import Testing

@Suite("Replay: merge order, conversion, test-then-train and the report")
struct ReplayTests {
    static func record(_ timestamp: Int64, _ partition: Int32, _ offset: Int64) -> ReplayRecord {
        ReplayRecord(timestamp: timestamp, partition: partition, offset: offset,
                     event: .success(.click(Click(user: "u", item: "i", timestamp: timestamp))))
    }

    /// The simulator gives a slate and its click the same `ts`; replay order across files is only
    /// defined up to such ties, so the comparison uses distinct times.
    static func retimed(_ event: Event, _ index: Int) -> Event {
        let timestamp = 1_700_000_000_000 + Int64(index) * 10
        switch event {
        case let .impression(impression):
            return .impression(Impression(user: impression.user, items: impression.items, timestamp: timestamp,
                                          context: impression.context, position: impression.position))
        case let .click(click):
            return .click(Click(user: click.user, item: click.item, timestamp: timestamp))
        case let .request(request):
            return .request(RecommendationRequest(user: request.user, k: request.k, timestamp: timestamp))
        case let .forget(forget):
            return .forget(ForgetRequest(user: forget.user, timestamp: timestamp))
        }
    }

    @Test("records of several partitions come out by (ts, partition, offset), never before a partition could still deliver an earlier one")
    func mergeOrder() {
        var merger = ReplayMerger(partitions: [0, 1])
        merger.add(Self.record(10, 0, 0))
        merger.add(Self.record(30, 0, 1))
        #expect(merger.drain().isEmpty, "partition 1 may still deliver something earlier")
        merger.add(Self.record(10, 1, 0))
        merger.add(Self.record(20, 1, 1))
        #expect(merger.drain().map { [$0.timestamp, Int64($0.partition)] } == [[10, 0], [10, 1], [20, 1]])
        merger.close(1)
        #expect(merger.drain().map(\.timestamp) == [30])
        merger.close(0)
        #expect(merger.buffered == 0)
    }

    @Test("test-then-train: a click is scored before it is learned; several samplers side by side; files merged; report written")
    func replayFiles() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("replay-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var simulator = ClickSimulator(configuration: SimulatorConfiguration())
        var files = ["", ""]
        var clicks = 0
        for index in 0..<6_000 {
            let event = Self.retimed(simulator.next(), index)
            if case .click = event { clicks += 1 }
            files[index % 2] += String(decoding: EventEncoder.encode(event), as: UTF8.self) + "\n"
        }
        files[1] += "{\"type\":\"click\"}\n"
        let paths = [directory + "/a.jsonl", directory + "/b.jsonl"]
        for (path, text) in zip(paths, files) { try text.write(toFile: path, atomically: true, encoding: .utf8) }

        let report = directory + "/report"
        var options = ReplayOptions(samplers: ["random", "popularity"], recommender: RecommenderConfiguration(), drift: DriftConfiguration(),
                                    eventLimits: EventLimits(), windowEvents: 1_000, reportDirectory: report)
        options.progress = false
        let summary = try ReplayRunner(options: options, logger: .init(label: "test")).run(from: ReplayFileSource(paths: paths, limits: EventLimits()))
        #expect(summary.events == 6_000)
        #expect(summary.invalid == 1)
        for name in ["report.json", "report.md", "report.html", "hit-rate.svg", "ndcg.svg", "exposure-shift.svg"] {
            #expect(FileManager.default.fileExists(atPath: report + "/" + name), "\(name) missing")
        }
        let json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: report + "/report.json"))) as? [String: Any])
        let samplers = try #require(json["samplers"] as? [[String: Any]])
        #expect(samplers.map { $0["sampler"] as? String } == ["random", "popularity"])
        #expect(samplers.allSatisfy { ($0["evaluated"] as? Int) == clicks })
        #expect((json["windows"] as? [Any])?.count == 6)
        // The peers: most-clicked so far and decayed popularity (its half-life chosen on the first part).
        let decayed = try #require(json["decayed_popularity"] as? [String: Any])
        #expect((decayed["candidates"] as? [Any])?.count == 5)
        #expect((decayed["evaluated"] as? Int) == clicks && (decayed["half_life_clicks"] as? Int).map { $0 > 0 } == true)
        #expect((json["mostpop"] as? [String: Any])?["evaluated"] as? Int == clicks)
        let ranking = try #require(samplers[0]["ranking_exponent"] as? [String: Any])
        #expect((ranking["candidates"] as? [Any])?.count == RecommenderConfiguration().deconfounding.onlineRankingExponents.count)
        let markdown = try String(contentsOfFile: report + "/report.md", encoding: .utf8)
        #expect(markdown.contains("| mostpop (clicks so far) (peer) |") && markdown.contains("decayed popularity (half-life"))
        #expect(try String(contentsOfFile: report + "/hit-rate.svg", encoding: .utf8).hasPrefix("<svg"))

        // The same stream in one file gives the same scores: the merge restored the order.
        let single = directory + "/all.jsonl"
        var merged = ""
        var again = ClickSimulator(configuration: SimulatorConfiguration())
        for index in 0..<6_000 { merged += String(decoding: EventEncoder.encode(Self.retimed(again.next(), index)), as: UTF8.self) + "\n" }
        try merged.write(toFile: single, atomically: true, encoding: .utf8)
        options.reportDirectory = directory + "/report-single"
        let singleSummary = try ReplayRunner(options: options, logger: .init(label: "test")).run(from: ReplayFileSource(paths: [single], limits: EventLimits()))
        #expect(singleSummary.lines == summary.lines.map { $0.replacingOccurrences(of: "invalid 1", with: "invalid 0") })
    }

    @Test("scoring comes before learning: a model that learned the click first would score higher")
    func scoredBeforeLearned() {
        var configuration = RecommenderConfiguration()
        configuration.trainingBatchSize = 1
        configuration.evaluationK = 1
        let run = ReplayRun(configuration: .init(recommender: configuration, samplers: [SamplerConfiguration()], windowEvents: 10,
                                                 drift: DriftConfiguration()))
        // A brand-new item clicked once can only be a miss at K = 1: "a" and "b" were exposed, it never was.
        for index in 0..<30 { run.replay(.impression(Impression(user: "u\(index)", items: ["a", "b"], timestamp: 1_700_000_000_000)), timestamp: 0) }
        run.replay(.click(Click(user: "u1", item: "new", timestamp: 1_700_000_000_001)), timestamp: 0)
        run.finish()
        #expect(run.totals().samplers[0].evaluated == 1)
        #expect(run.totals().samplers[0].hits == 0)
    }
}
