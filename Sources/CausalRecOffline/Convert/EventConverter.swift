import CausalRecCore
import Foundation

/// Turns public datasets into event JSON lines (the schema in README.md, "Events and outputs"), so that `replay` and `backtest`
/// read them like any other event log.
public enum EventConverter {
    public enum Format: String, CaseIterable, Sendable {
        /// MovieLens `ratings.csv` (userId,movieId,rating,timestamp in seconds): every rating is an
        /// impression, a rating ≥ 4 also a click.
        case movielens
        /// Open Bandit Dataset CSV (row index,timestamp,item_id,position,click,propensity_score,
        /// user_feature_0..3,…): every row an impression at its position, click = 1 also a click;
        /// the user is the tuple of the four hashed user features (OBD has no user id).
        case obd
    }

    public struct ConversionError: Error, CustomStringConvertible {
        public let description: String
    }

    public struct Counts: Sendable, Equatable {
        public var rows = 0
        public var impressions = 0
        public var clicks = 0
        public var skipped = 0
    }

    /// Longest CSV line accepted (dataset rows are short; OBD rows with their affinity columns are
    /// a few kilobytes). A longer line stops the conversion with an error naming it.
    public static let maxLineBytes = 1 << 20

    /// The file's non-empty lines, read in bounded memory; an over-long line is an error.
    struct Lines: IteratorProtocol {
        var reader: LineReader
        var failure: (any Error)?

        mutating func next() -> Substring? {
            while failure == nil {
                do {
                    switch try reader.next() {
                    case nil:
                        return nil
                    case let .tooLong(bytes)?:
                        failure = ConversionError(description: "\(reader.path) line \(reader.lineNumber): \(bytes) bytes, above the \(EventConverter.maxLineBytes)-byte limit of a CSV row")
                    case let .text(bytes)?:
                        if !bytes.isEmpty { return Substring(String(decoding: bytes, as: UTF8.self)) }
                    }
                } catch {
                    failure = ConversionError(description: "\(error)")
                }
            }
            return nil
        }
    }

    /// Converts `input` (plain or .gz) and calls `emit` with each encoded event line, in file order
    /// (an impression before its click). The file is streamed, never held whole.
    public static func convert(_ format: Format, input: String, emit: ([UInt8]) throws -> Void) throws -> Counts {
        let reader: LineReader
        do {
            reader = try LineReader(path: input, maxLineBytes: maxLineBytes)
        } catch {
            throw ConversionError(description: "\(error)")
        }
        defer { reader.close() }
        var lines = Lines(reader: reader)
        defer { lines.reader.close() }
        guard let header = lines.next() else {
            if let failure = lines.failure { throw failure }
            throw ConversionError(description: "\(input): the file is empty")
        }
        let columns = header.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        var counts = Counts()
        switch format {
        case .movielens:
            let user = try index(of: "userId", in: columns, input), item = try index(of: "movieId", in: columns, input)
            let rating = try index(of: "rating", in: columns, input), time = try index(of: "timestamp", in: columns, input)
            while let line = lines.next() {
                counts.rows += 1
                let fields = line.split(separator: ",", omittingEmptySubsequences: false)
                guard fields.count > max(user, item, rating, time), let stars = Double(fields[rating]), let seconds = Int64(fields[time]) else {
                    counts.skipped += 1
                    continue
                }
                let timestamp = seconds * 1_000
                let userID = "u" + fields[user], itemID = "m" + fields[item]
                try emit(EventEncoder.encode(.impression(Impression(user: userID, items: [itemID], timestamp: timestamp))))
                counts.impressions += 1
                if stars >= 4 {
                    try emit(EventEncoder.encode(.click(Click(user: userID, item: itemID, timestamp: timestamp))))
                    counts.clicks += 1
                }
            }
        case .obd:
            let time = try index(of: "timestamp", in: columns, input), item = try index(of: "item_id", in: columns, input)
            let position = try index(of: "position", in: columns, input), click = try index(of: "click", in: columns, input)
            let features = try (0..<4).map { try index(of: "user_feature_\($0)", in: columns, input) }
            while let line = lines.next() {
                counts.rows += 1
                let fields = line.split(separator: ",", omittingEmptySubsequences: false)
                guard fields.count > ([time, item, position, click] + features).max()!,
                      let timestamp = parseISOTimestamp(fields[time]), let slot = Int(fields[position])
                else {
                    counts.skipped += 1
                    continue
                }
                // The hashed features are 32 hex digits each; 8 of each keep the tuple distinct and the id short.
                let userID = "f" + features.map { String(fields[$0].prefix(8)) }.joined(separator: "-")
                let itemID = "i" + fields[item]
                try emit(EventEncoder.encode(.impression(Impression(user: userID, items: [itemID], timestamp: timestamp, position: slot))))
                counts.impressions += 1
                if fields[click] == "1" {
                    try emit(EventEncoder.encode(.click(Click(user: userID, item: itemID, timestamp: timestamp))))
                    counts.clicks += 1
                }
            }
        }
        if let failure = lines.failure { throw failure }
        return counts
    }

    private static func index(of column: String, in columns: [String], _ input: String) throws -> Int {
        guard let index = columns.firstIndex(of: column) else {
            throw ConversionError(description: "\(input): no '\(column)' column in the header (\(columns.prefix(8).joined(separator: ",")))")
        }
        return index
    }

    /// `2019-11-24 00:00:34.762830+00:00` (OBD) → epoch milliseconds; only UTC offsets of the
    /// form ±HH:MM are accepted.
    static func parseISOTimestamp(_ text: Substring) -> Int64? {
        let bytes = Array(text.utf8)
        guard bytes.count >= 19 else { return nil }
        func number(_ range: Range<Int>) -> Int? {
            var value = 0
            for index in range {
                guard index < bytes.count, bytes[index] >= 48, bytes[index] <= 57 else { return nil }
                value = value * 10 + Int(bytes[index] - 48)
            }
            return value
        }
        guard let year = number(0..<4), let month = number(5..<7), let day = number(8..<10),
              let hour = number(11..<13), let minute = number(14..<16), let second = number(17..<19) else { return nil }
        var index = 19
        var fraction = 0.0
        if index < bytes.count && bytes[index] == UInt8(ascii: ".") {
            index += 1
            var scale = 0.1
            while index < bytes.count, bytes[index] >= 48, bytes[index] <= 57 {
                fraction += Double(bytes[index] - 48) * scale
                scale /= 10
                index += 1
            }
        }
        var offsetSeconds = 0
        if index < bytes.count && (bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-")) {
            guard let hours = number(index + 1..<index + 3), let minutes = number(index + 4..<index + 6) else { return nil }
            offsetSeconds = (hours * 3600 + minutes * 60) * (bytes[index] == UInt8(ascii: "-") ? -1 : 1)
        }
        // Days from the civil date (proleptic Gregorian), after Howard Hinnant's algorithm.
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        let days = era * 146_097 + dayOfEra - 719_468
        let seconds = Int64(days) * 86_400 + Int64(hour * 3600 + minute * 60 + second) - Int64(offsetSeconds)
        return seconds * 1_000 + Int64((fraction * 1_000).rounded(.down))
    }
}
