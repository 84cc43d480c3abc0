import CausalRecCore
import Foundation

/// One split of an offline dataset, as events in file order.
///
/// SELFRec files (`user item weight` per line, as in ../shared/data) become: a positive weight →
/// an impression and a click; a weight of 0 → an impression only (exposed, not clicked).
/// JSON-lines files hold events in the event schema of README.md. Lines without a timestamp get
/// `baseTimestamp + line number` ms, which keeps event time ordered like the file.
public struct DatasetSplit: Sendable {
    public var name: String
    public var events: [Event]
    /// (user, item) pairs with a click — what a split is judged on.
    public var positives: [(user: String, item: String)]
    public var path: String

    public static let baseTimestamp: Int64 = 1_600_000_000_000

    /// Finds `<name>.txt`, `.txt.gz`, `.jsonl`, `.jsonl.gz` in `directory`.
    public static func locate(_ name: String, in directory: String) -> String? {
        for suffix in [".txt", ".txt.gz", ".jsonl", ".jsonl.gz", ""] {
            let path = (directory as NSString).appendingPathComponent(name + suffix)
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue {
                return path
            }
        }
        return nil
    }

    public static func load(name: String, directory: String) throws -> DatasetSplit {
        guard let path = locate(name, in: directory) else {
            throw BacktestError.missingSplit(name: name, directory: directory)
        }
        return try load(name: name, path: path)
    }

    /// Longest line of a SELFRec file (they are a few dozen bytes; anything far longer is not one).
    static let maxSELFRecLineBytes = 1 << 20

    public static func load(name: String, path: String) throws -> DatasetSplit {
        if path.hasSuffix(".jsonl") || path.hasSuffix(".jsonl.gz") {
            return try parseEvents(name: name, path: path)
        }
        return try parseSELFRec(name: name, path: path)
    }

    /// Opens `path` for streaming, mapping read problems to `BacktestError`.
    private static func lines(_ path: String, maxLineBytes: Int) throws -> LineReader {
        do {
            return try LineReader(path: path, maxLineBytes: maxLineBytes)
        } catch {
            throw BacktestError.unreadable(path: "\(error)")
        }
    }

    /// The non-empty lines of a file in order, numbered from 1 as they are counted (empty lines
    /// are skipped and not counted). An over-long line is an error naming it.
    static func forEachLine(_ path: String, maxLineBytes: Int, _ body: (Int, [UInt8]) throws -> Void) throws {
        var reader = try lines(path, maxLineBytes: maxLineBytes)
        defer { reader.close() }
        var counted = 0
        while true {
            let line: LineReader.Line?
            do {
                line = try reader.next()
            } catch {
                throw BacktestError.unreadable(path: "\(error)")
            }
            guard let line else { return }
            switch line {
            case let .tooLong(bytes):
                throw BacktestError.malformed(path: path, line: reader.lineNumber,
                                              reason: "the line is \(bytes) bytes long, above the \(maxLineBytes)-byte limit")
            case let .text(bytes):
                guard !bytes.isEmpty else { continue }
                counted += 1
                try body(counted, bytes)
            }
        }
    }

    /// Whether the split has impressions beyond its clicks (SELFRec rows with weight 0, or
    /// impression events). Without them, exposure falls back to interaction counts.
    public var hasImpressions: Bool {
        let impressions = events.reduce(0) { count, event in
            if case .impression = event { return count + 1 }
            return count
        }
        return impressions > 0
    }

    static func parseSELFRec(name: String, path: String) throws -> DatasetSplit {
        var rows: [(user: String, item: String, weight: Double)] = []
        try forEachLine(path, maxLineBytes: maxSELFRecLineBytes) { lineNumber, line in
            let fields = line.split(whereSeparator: { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") || $0 == UInt8(ascii: "\r") })
            guard fields.count >= 2 else {
                throw BacktestError.malformed(path: path, line: lineNumber, reason: "expected 'user item [weight]'")
            }
            let user = String(decoding: fields[0], as: UTF8.self)
            let item = String(decoding: fields[1], as: UTF8.self)
            var weight = 1.0
            if fields.count >= 3 {
                guard let value = Double(String(decoding: fields[2], as: UTF8.self)) else {
                    throw BacktestError.malformed(path: path, line: lineNumber, reason: "weight is not a number")
                }
                weight = value
            }
            rows.append((user, item, weight))
        }
        // A file with 0-weight rows logs exposures: every row is then an impression. A file of
        // positives only has no exposure information, so it yields clicks alone.
        let logsExposure = rows.contains { $0.weight <= 0 }
        var events: [Event] = []
        var positives: [(String, String)] = []
        events.reserveCapacity(rows.count * (logsExposure ? 2 : 1))
        for (index, row) in rows.enumerated() {
            let timestamp = baseTimestamp + Int64(index + 1)
            if logsExposure {
                events.append(.impression(Impression(user: row.user, items: [row.item], timestamp: timestamp)))
            }
            if row.weight > 0 {
                events.append(.click(Click(user: row.user, item: row.item, timestamp: timestamp)))
                positives.append((row.user, row.item))
            }
        }
        return DatasetSplit(name: name, events: events, positives: positives, path: path)
    }

    static func parseEvents(name: String, path: String) throws -> DatasetSplit {
        let decoder = EventDecoder()
        var events: [Event] = []
        var positives: [(String, String)] = []
        try forEachLine(path, maxLineBytes: decoder.limits.maxEventBytes) { lineNumber, bytes in
            switch decoder.decode(bytes) {
            case let .failure(rejection):
                throw BacktestError.malformed(path: path, line: lineNumber, reason: rejection.reason)
            case var .success(event):
                if event.timestamp == nil { event = event.withTimestamp(baseTimestamp + Int64(lineNumber)) }
                if case let .click(click) = event { positives.append((click.user, click.item)) }
                events.append(event)
            }
        }
        return DatasetSplit(name: name, events: events, positives: positives, path: path)
    }
}

/// Problems with backtest inputs, each naming the file.
public enum BacktestError: Error, CustomStringConvertible {
    case missingSplit(name: String, directory: String)
    case unreadable(path: String)
    case malformed(path: String, line: Int, reason: String)
    case invalidOption(String)

    public var description: String {
        switch self {
        case let .missingSplit(name, directory):
            "no split '\(name)' in \(directory) (looked for \(name).txt, .txt.gz, .jsonl, .jsonl.gz)"
        case let .unreadable(path): "cannot read \(path)"
        case let .malformed(path, line, reason): "\(path):\(line): \(reason)"
        case let .invalidOption(message): message
        }
    }
}

extension Event {
    /// The same event with `timestamp` set.
    func withTimestamp(_ timestamp: Int64) -> Event {
        switch self {
        case let .impression(impression):
            .impression(Impression(user: impression.user, items: impression.items, timestamp: timestamp,
                                   context: impression.context, position: impression.position))
        case let .click(click):
            .click(Click(user: click.user, item: click.item, timestamp: timestamp))
        case let .request(request):
            .request(RecommendationRequest(user: request.user, k: request.k, timestamp: timestamp))
        case let .forget(forget):
            .forget(ForgetRequest(user: forget.user, timestamp: timestamp))
        }
    }
}
