import Foundation
import Testing

/// Runtime exclusivity checks are off only in the numeric core (a measured cost in the training
/// loop); the service, the Kafka client and the executable keep them, so an overlapping access
/// there traps instead of corrupting state. Checked on the compiled objects: a module built with
/// the checks calls `swift_beginAccess` for its class and global accesses, one without has few.
@Suite("Runtime exclusivity checks")
struct ExclusivityChecksTests {
    static var buildDirectory: URL {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    }

    /// Calls to `swift_beginAccess` in a module's object files (relocations).
    static func accessChecks(in module: String) throws -> Int {
        let directory = buildDirectory.appendingPathComponent("\(module).build")
        let objects = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".o") }
        try #require(!objects.isEmpty, "no objects in \(directory.path)")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/objdump")
        process.arguments = ["-r"] + objects.map { directory.appendingPathComponent($0).path }
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return output.split(separator: "\n").count { $0.contains("swift_beginAccess") }
    }

    @Test("the service checks its accesses at run time; the numeric core does not")
    func onlyTheCoreIsUnchecked() throws {
        let service = try Self.accessChecks(in: "CausalRecPipeline")
        let core = try Self.accessChecks(in: "CausalRecCore")
        #expect(service > 100, "CausalRecPipeline has \(service) runtime access checks")
        #expect(core < service / 5, "CausalRecCore has \(core) runtime access checks, the service \(service)")
    }
}
