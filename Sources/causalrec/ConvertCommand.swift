import ArgumentParser
import CausalRecOffline
import CausalRecPipeline
import Foundation

struct ConvertCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convert",
        abstract: "Turn a public dataset into event JSON lines: MovieLens ratings.csv or an Open Bandit Dataset CSV.",
        discussion: """
        movielens: every rating becomes an impression, a rating of 4 or more also a click (ts = the
        rating's time). obd: every row becomes an impression at its position, click = 1 also a click;
        the user id is built from the four hashed user features (OBD has no user id).
        """
    )

    @Option(help: "Input format: movielens or obd.")
    var from: String

    @Argument(help: "Input CSV (plain or .gz).")
    var input: String

    @Option(name: .shortAndLong, help: "Output file (default: stdout).")
    var output: String?

    func run() throws {
        guard let format = EventConverter.Format(rawValue: from) else {
            throw ValidationError("--from must be one of \(EventConverter.Format.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        var buffer: [UInt8] = []
        buffer.reserveCapacity(1 << 20)
        let handle: FileHandle
        if let output {
            guard FileManager.default.createFile(atPath: output, contents: nil) else {
                throw ValidationError("cannot create \(output)")
            }
            handle = try FileHandle(forWritingTo: URL(fileURLWithPath: output))
        } else {
            handle = FileHandle.standardOutput
        }
        let counts = try EventConverter.convert(format, input: input) { line in
            buffer.append(contentsOf: line)
            buffer.append(UInt8(ascii: "\n"))
            if buffer.count >= 1 << 20 {
                handle.write(Data(buffer))
                buffer.removeAll(keepingCapacity: true)
            }
        }
        handle.write(Data(buffer))
        if output != nil { try handle.close() }
        FileHandle.standardError.write(Data("converted \(counts.rows) rows: \(counts.impressions) impressions, \(counts.clicks) clicks, \(counts.skipped) skipped\n".utf8))
    }
}
