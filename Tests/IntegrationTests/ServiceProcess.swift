import Foundation

/// A `causalrec` child process with its output collected, for tests that stop it from outside
/// (SIGTERM for a clean stop, SIGKILL for a crash).
final class ServiceProcess {
    struct Finished {
        var status: Int32
        var reason: Process.TerminationReason
        var stdout: String
        var stderr: String

        /// `applied=` of the last stdout line: valid events in the state, across restarts.
        var applied: Int? {
            guard let line = stdout.split(separator: "\n").last, line.hasPrefix("applied=") else { return nil }
            return Int(line.split(separator: " ")[0].dropFirst("applied=".count))
        }
    }

    /// The `causalrec` built beside the tests, or `CAUSALREC_BINARY` (benchmarks run the release build).
    static var binary: String {
        ProcessInfo.processInfo.environment["CAUSALREC_BINARY"]
            ?? URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("causalrec").path
    }

    static var binaryExists: Bool { FileManager.default.isExecutableFile(atPath: binary) }

    private let process = Process()
    private let stdoutPipe = Pipe()
    private let stderrPipe = Pipe()
    private let collected = ThreadSafeText()

    init(arguments: [String], environment extra: [String: String]) throws {
        process.executableURL = URL(fileURLWithPath: Self.binary)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(extra) { $1 }
        process.standardOutput = stdoutPipe
        process.standardError = stderrPipe
        let collected = self.collected
        stderrPipe.fileHandleForReading.readabilityHandler = { handle in collected.append(handle.availableData) }
        try process.run()
    }

    var stderr: String { collected.text }
    var isRunning: Bool { process.isRunning }

    /// Waits until `condition` holds for the log so far, the process ends or the deadline passes.
    @discardableResult
    func waitForLog(timeout: TimeInterval = 60, _ condition: (String) -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline {
            if condition(collected.text) { return true }
            Thread.sleep(forTimeInterval: 0.02)
        }
        return condition(collected.text)
    }

    /// Foundation's `Process.terminate()` did not deliver SIGTERM to the child here; kill(2) does.
    func send(_ signal: Int32) {
        kill(process.processIdentifier, signal)
    }

    /// Waits for the end at most `seconds`, then kills the process (a hung child must not hang the suite).
    func waitForExit(within seconds: TimeInterval) -> Finished {
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        if process.isRunning { send(SIGKILL) }
        return waitForExit()
    }

    func waitForExit() -> Finished {
        let stdout = stdoutPipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        stderrPipe.fileHandleForReading.readabilityHandler = nil
        collected.append(stderrPipe.fileHandleForReading.readDataToEndOfFile())
        return Finished(status: process.terminationStatus, reason: process.terminationReason,
                        stdout: String(decoding: stdout, as: UTF8.self), stderr: collected.text)
    }
}

/// Text appended from a pipe handler thread and read from the test thread.
final class ThreadSafeText: @unchecked Sendable {
    private let lock = NSLock()
    private var data = Data()

    func append(_ more: Data) {
        lock.lock()
        data.append(more)
        lock.unlock()
    }

    var text: String {
        lock.lock()
        defer { lock.unlock() }
        return String(decoding: data, as: UTF8.self)
    }
}
