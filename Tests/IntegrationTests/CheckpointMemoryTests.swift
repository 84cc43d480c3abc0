import Foundation
import Testing

/// Checkpoints of a state of ~100 MB must not need memory for another copy of it: the peak
/// resident memory while writing one, and while restoring one, stays within 1.3 × the memory of
/// the state. Measured in a child process (`causalrec bench --only checkpoint_memory`) so the
/// other tests running beside this one do not move the peak.
@Suite("Checkpoint memory")
struct CheckpointMemoryTests {
    struct Record: Decodable {
        var name: String
        var value: Double
        var reference: Double?
    }

    @Test("writing and restoring a ~100 MB state peak within 1.3 × the state's resident memory")
    func peakWithinBound() throws {
        guard FileManager.default.fileExists(atPath: "/proc/self/clear_refs") else { return }
        guard ServiceProcess.binaryExists else {
            Issue.record("\(ServiceProcess.binary) is missing; build the package first")
            return
        }
        let json = FileManager.default.temporaryDirectory.appendingPathComponent("checkpoint-memory-\(UUID().uuidString).json").path
        defer { try? FileManager.default.removeItem(atPath: json) }
        let process = try ServiceProcess(arguments: ["bench", "--only", "checkpoint_memory", "--checkpoint-items", "120000", "--json", json],
                                         environment: [:])
        let finished = process.waitForExit()
        #expect(finished.status == 0, "\(finished.stderr)")
        let records = try JSONDecoder().decode([Record].self, from: Data(contentsOf: URL(fileURLWithPath: json)))
        let file = try #require(records.first { $0.name == "checkpoint_memory.file" })
        #expect(file.value >= 100, "a state of \(file.value) MB is too small for the ratio to mean anything")
        for name in ["checkpoint_memory.write_peak", "checkpoint_memory.restore_peak"] {
            let record = try #require(records.first { $0.name == name })
            let steady = try #require(record.reference)
            #expect(record.value <= 1.3 * steady, "\(name): \(record.value) MB against \(steady) MB steady")
        }
    }
}
