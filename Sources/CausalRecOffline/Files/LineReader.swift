import Foundation

/// Reads a text file line by line in bounded memory, decompressing `.gz` on the fly with the
/// system's gzip (a pipe, so a gzip bomb streams through instead of filling memory).
///
/// A line longer than `maxLineBytes` is never held: its bytes are skipped up to the next newline
/// and the reader reports `.tooLong` with the line number and its length, so the caller can
/// refuse the file or skip the line with a reason that names it.
package struct LineReader {
    package enum Line {
        /// The line's bytes without the newline (and without a trailing carriage return).
        case text([UInt8])
        case tooLong(bytes: Int)
    }

    package struct ReadError: Error, CustomStringConvertible {
        package let description: String
    }

    package let path: String
    package let maxLineBytes: Int
    /// 1-based number of the line `next()` returned last.
    package private(set) var lineNumber = 0
    /// The most bytes buffered at once (what "bounded memory" means here: a long line's limit
    /// plus one read).
    private(set) var highWaterBytes = 0
    private let handle: FileHandle
    private let process: Process?
    private let errors: Pipe?
    private var buffer: [UInt8] = []
    private var start = 0
    private var finished = false
    private static let chunk = 1 << 20

    package init(path: String, maxLineBytes: Int) throws {
        self.path = path
        self.maxLineBytes = maxLineBytes
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue else {
            throw ReadError(description: "\(path): no such file")
        }
        if path.hasSuffix(".gz") {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["gzip", "-dc", path]
            let output = Pipe()
            let errors = Pipe()
            process.standardOutput = output
            process.standardError = errors
            do {
                try process.run()
            } catch {
                throw ReadError(description: "\(path): cannot run gzip: \(error)")
            }
            self.process = process
            self.errors = errors
            handle = output.fileHandleForReading
        } else {
            guard let handle = FileHandle(forReadingAtPath: path) else { throw ReadError(description: "\(path): cannot open it") }
            self.handle = handle
            process = nil
            errors = nil
        }
    }

    /// The next line, or nil at the end of the file. Throws when gzip reports a damaged file.
    package mutating func next() throws -> Line? {
        var skipped = 0
        while true {
            if let newline = buffer[start...].firstIndex(of: UInt8(ascii: "\n")) {
                lineNumber += 1
                let length = newline - start + skipped
                defer { start = newline + 1 }
                if skipped > 0 || length > maxLineBytes { return .tooLong(bytes: length) }
                var end = newline
                if end > start && buffer[end - 1] == UInt8(ascii: "\r") { end -= 1 }
                return .text(Array(buffer[start..<end]))
            }
            if buffer.count - start > maxLineBytes {
                // Too long already: drop what is buffered and keep counting until the newline.
                skipped += buffer.count - start
                buffer.removeAll(keepingCapacity: true)
                start = 0
            }
            if finished {
                guard start < buffer.count || skipped > 0 else { return nil }
                lineNumber += 1
                let rest = Array(buffer[start...])
                buffer.removeAll()
                start = 0
                if skipped > 0 || rest.count > maxLineBytes { return .tooLong(bytes: skipped + rest.count) }
                return .text(rest.last == UInt8(ascii: "\r") ? Array(rest.dropLast()) : rest)
            }
            try fill()
        }
    }

    private mutating func fill() throws {
        if start > 0 {
            buffer.removeSubrange(0..<start)
            start = 0
        }
        let data = try handle.read(upToCount: Self.chunk) ?? Data()
        if data.isEmpty {
            finished = true
            try finish()
        } else {
            buffer.append(contentsOf: data)
            highWaterBytes = max(highWaterBytes, buffer.count)
        }
    }

    private func finish() throws {
        try? handle.close()
        guard let process else { return }
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            let message = String(decoding: errors?.fileHandleForReading.readDataToEndOfFile() ?? Data(), as: UTF8.self)
            throw ReadError(description: "\(path): gzip: \(message.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
    }

    /// Stops reading early (kills gzip if it still runs).
    package func close() {
        if let process, process.isRunning { process.terminate() }
        try? handle.close()
    }
}
