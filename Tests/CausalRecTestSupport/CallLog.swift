import Foundation

/// What the doubles were asked to do, in order, in one log: tests read the order of calls across
/// doubles (a send before the commit that covers it, a checkpoint before a close).
package final class CallLog: @unchecked Sendable {
    private let lock = NSLock()
    private var entries: [String] = []

    package init() {}

    package func append(_ entry: String) {
        lock.lock()
        entries.append(entry)
        lock.unlock()
    }

    package var calls: [String] {
        lock.lock()
        defer { lock.unlock() }
        return entries
    }

    package func index(of prefix: String) -> Int? { calls.firstIndex { $0.hasPrefix(prefix) } }
    package func lastIndex(of prefix: String) -> Int? { calls.lastIndex { $0.hasPrefix(prefix) } }
}
