import CausalRecCore
import Foundation

/// A progress bar on stderr for long backtests: units done, training examples per second, and an
/// ETA. Redraws one line on a terminal; prints a line per epoch otherwise (logs, CI).
public final class BacktestProgress: @unchecked Sendable {
    private var total = 0
    private var done = 0
    private var started = ContinuousClock().now
    private var examples = 0
    private let interactive: Bool
    private let enabled: Bool

    public init(enabled: Bool = true) {
        self.enabled = enabled
        interactive = isatty(STDERR_FILENO) == 1
    }

    func begin(total: Int) {
        self.total = max(total, 1)
        done = 0
        examples = 0
        started = ContinuousClock().now
    }

    func step(label: String, examples count: Int, validationNDCG: Double) {
        done += 1
        examples += count
        guard enabled else { return }
        let elapsed = seconds(ContinuousClock().now - started)
        let rate = elapsed > 0 ? Double(examples) / elapsed : 0
        let remaining = done > 0 ? elapsed / Double(done) * Double(total - done) : 0
        let width = 24
        let filled = min(width, width * done / total)
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
        let line = "[\(bar)] \(done)/\(total) \(label) valid ndcg@20 \(String(format: "%.4f", validationNDCG)) | \(Int(rate)) examples/s | ETA \(Self.format(remaining))"
        if interactive {
            FileHandle.standardError.write(Data(("\r\u{1B}[K" + line).utf8))
        } else {
            FileHandle.standardError.write(Data((line + "\n").utf8))
        }
    }

    /// Epochs not run because of early stopping still count as done for the ETA.
    func skip(_ units: Int) {
        done += units
    }

    func finish() {
        guard enabled, interactive else { return }
        FileHandle.standardError.write(Data("\n".utf8))
    }

    private func seconds(_ duration: Duration) -> Double {
        duration.inSeconds
    }

    package static func format(_ seconds: Double) -> String {
        let total = Int(seconds.rounded())
        return total >= 3600 ? "\(total / 3600)h\(total % 3600 / 60)m" : (total >= 60 ? "\(total / 60)m\(total % 60)s" : "\(total)s")
    }
}
