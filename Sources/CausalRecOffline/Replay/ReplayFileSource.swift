import CausalRecCore
import Foundation

/// Event files as a replay source: JSON-lines files (plain or .gz), each file one "partition"
/// and its lines the offsets.
package final class ReplayFileSource: ReplayRecordSource {
    package let paths: [String]
    private let decoder: EventDecoder

    package init(paths: [String], limits: EventLimits) {
        self.paths = paths
        decoder = EventDecoder(limits: limits)
    }

    package var sourceDescription: String { paths.map { ($0 as NSString).lastPathComponent }.joined(separator: ", ") }
    package var totalToRead: Int { 0 }

    package func read(deliver: ([ReplayRecord]) throws -> Void) throws {
        let stream = try ReplayFileStream(paths: paths, decoder: decoder)
        while case let batch = try stream.nextBatch(), !batch.isEmpty {
            try deliver(batch)
        }
    }
}

/// Streams JSON-lines event files (plain or .gz; each file one "partition", its lines the
/// offsets) merged in replay order, in bounded memory: lines are read only from files the merge
/// is waiting for, a few thousand at a time. A line longer than the event size limit is not
/// held; it becomes an invalid record whose reason names the file and line.
package final class ReplayFileStream {
    private var readers: [LineReader]
    private let decoder: EventDecoder
    private var merger: ReplayMerger
    private var lastTimestamp: [Int64]
    private var open: Set<Int32>
    private static let linesPerRead = 4_096

    package init(paths: [String], decoder: EventDecoder) throws {
        var readers: [LineReader] = []
        for path in paths {
            do {
                readers.append(try LineReader(path: path, maxLineBytes: decoder.limits.maxEventBytes))
            } catch {
                readers.forEach { $0.close() }
                throw ReplaySourceError(description: "--input \(error)")
            }
        }
        self.readers = readers
        self.decoder = decoder
        merger = ReplayMerger(partitions: readers.indices.map { Int32($0) })
        lastTimestamp = [Int64](repeating: 0, count: readers.count)
        open = Set(readers.indices.map { Int32($0) })
    }

    deinit {
        readers.forEach { $0.close() }
    }

    /// The next records in (ts, file, line) order; empty once every file is done.
    package func nextBatch() throws -> [ReplayRecord] {
        while true {
            for partition in merger.starving() where open.contains(partition) {
                try read(partition)
            }
            let ready = merger.drain()
            if !ready.isEmpty || open.isEmpty { return ready }
        }
    }

    private func read(_ partition: Int32) throws {
        let index = Int(partition)
        for _ in 0..<Self.linesPerRead {
            let line: LineReader.Line?
            do {
                line = try readers[index].next()
            } catch {
                throw ReplaySourceError(description: "--input \(error)")
            }
            guard let line else {
                open.remove(partition)
                merger.close(partition)
                readers[index].close()
                return
            }
            let offset = Int64(readers[index].lineNumber - 1)
            let result: Result<Event, EventRejection>
            switch line {
            case let .tooLong(bytes):
                result = .failure(EventRejection("\(readers[index].path) line \(readers[index].lineNumber) is \(bytes) bytes, above the \(decoder.limits.maxEventBytes)-byte event limit."))
            case let .text(bytes):
                guard !bytes.isEmpty else { continue }
                result = decoder.decode(bytes)
            }
            if case let .success(event) = result, let timestamp = event.timestamp { lastTimestamp[index] = timestamp }
            merger.add(ReplayRecord(timestamp: lastTimestamp[index], partition: partition, offset: offset, event: result))
        }
    }
}
