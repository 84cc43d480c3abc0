@testable import CausalRecOffline
import CausalRecCore
@testable import CausalRecPipeline
import Foundation
import Logging
import Testing

/// Big or hostile input files for `replay`, `convert` and `backtest`: read in bounded memory, an
/// over-long line named in a clear message, and a gzip bomb streamed through, never held.
@Suite("Large and hostile input files")
struct LargeInputTests {
    static func temporary(_ name: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("\(UUID().uuidString)-\(name)").path
    }

    /// `bytes` of zeros without a newline, gzip'd (a few hundred kB on disk).
    static func gzipBomb(megabytes: Int) throws -> String {
        let path = temporary("bomb.jsonl.gz")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", "head -c \(megabytes)M /dev/zero | gzip -1 > '\(path)'"]
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        return path
    }

    @Test("a gzip bomb streams through the line reader in bounded memory; the long line is reported with its length")
    func gzipBomb() throws {
        let path = try Self.gzipBomb(megabytes: 64)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let size = try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int ?? 0
        #expect(size < 2_000_000)
        var reader = try LineReader(path: path, maxLineBytes: 65_536)
        guard case let .tooLong(bytes)? = try reader.next() else {
            Issue.record("the bomb was not reported as one over-long line")
            return
        }
        #expect(bytes == 64 << 20)
        #expect(reader.lineNumber == 1)
        #expect(try reader.next() == nil)
        // One read plus the line limit, never the 64 MB.
        #expect(reader.highWaterBytes <= (1 << 20) + 65_536, "\(reader.highWaterBytes) bytes buffered")
    }

    @Test("replay skips an over-long line with a reason naming file and line, and replays the lines around it")
    func replayLongLine() throws {
        let path = Self.temporary("events.jsonl")
        let valid = #"{"type":"click","user":"u1","item":"i1","ts":1700000000000}"#
        let long = #"{"type":"click","user":"u1","item":""# + String(repeating: "x", count: 200_000) + #"","ts":1700000000001}"#
        try [valid, long, valid.replacingOccurrences(of: "i1", with: "i2")].joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let stream = try ReplayFileStream(paths: [path], decoder: EventDecoder())
        var records: [ReplayRecord] = []
        while case let batch = try stream.nextBatch(), !batch.isEmpty { records += batch }
        #expect(records.count == 3)
        guard records.count == 3, case let .failure(rejection) = records[1].event else {
            Issue.record("the long line was not rejected")
            return
        }
        #expect(rejection.reason.contains("line 2") && rejection.reason.contains("200") && rejection.reason.contains(path))
        if case .success = records[2].event {} else { Issue.record("the line after the long one was lost") }
    }

    @Test("replay of a gzip bomb finishes with one invalid line, in bounded memory")
    func replayBomb() throws {
        let path = try Self.gzipBomb(megabytes: 64)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let stream = try ReplayFileStream(paths: [path], decoder: EventDecoder())
        var records: [ReplayRecord] = []
        while case let batch = try stream.nextBatch(), !batch.isEmpty { records += batch }
        #expect(records.count == 1)
        if case let .failure(rejection) = records.first?.event {
            #expect(rejection.reason.contains("line 1 is \(64 << 20) bytes"))
        } else {
            Issue.record("the bomb was not one invalid line")
        }
    }

    @Test("convert and backtest refuse an over-long line with an error naming it; a damaged gzip names the file")
    func convertAndBacktestLongLine() throws {
        let csv = Self.temporary("ratings.csv")
        try ("userId,movieId,rating,timestamp\n1,31,2.5,1260759144\n1," + String(repeating: "9", count: 2_000_000) + ",4.0,1\n")
            .write(toFile: csv, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: csv) }
        do {
            _ = try EventConverter.convert(.movielens, input: csv) { _ in }
            Issue.record("an over-long CSV line was converted")
        } catch {
            #expect("\(error)".contains("line 3") && "\(error)".contains("limit"), "\(error)")
        }

        let directory = Self.temporary("split")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let train = (directory as NSString).appendingPathComponent("train.txt")
        try ("1 2 1\n3 4 1\n" + String(repeating: "5", count: 2_000_000) + " 6 1\n").write(toFile: train, atomically: true, encoding: .utf8)
        do {
            _ = try DatasetSplit.load(name: "train", directory: directory)
            Issue.record("an over-long SELFRec line was loaded")
        } catch {
            #expect("\(error)".contains("train.txt:3") && "\(error)".contains("limit"), "\(error)")
        }

        let damaged = (directory as NSString).appendingPathComponent("test.txt.gz")
        try Data("not gzip at all".utf8).write(to: URL(fileURLWithPath: damaged))
        do {
            _ = try DatasetSplit.load(name: "test", directory: directory)
            Issue.record("a damaged gzip was loaded")
        } catch {
            #expect("\(error)".contains("test.txt.gz") && "\(error)".contains("gzip"), "\(error)")
        }
    }
}
