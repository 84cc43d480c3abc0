import Foundation
import Synchronization

/// A thread of its own for blocking work (librdkafka polls, commits, flushes, the event loop),
/// so that it never occupies one of the few threads of Swift's cooperative pool.
public final class DedicatedThread: Sendable {
    private let finished = DispatchSemaphore(value: 0)
    private let started = Atomic<Bool>(false)
    private let body: @Sendable () -> Void
    public let name: String

    public init(name: String, body: @escaping @Sendable () -> Void) {
        self.name = name
        self.body = body
    }

    public func start() {
        guard started.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged else {
            return
        }
        let thread = Thread { [body, finished] in
            body()
            finished.signal()
        }
        thread.name = name
        thread.start()
    }

    /// Blocks the calling thread until the body has returned. May be called more than once.
    public func join() {
        guard started.load(ordering: .acquiring) else { return }
        finished.wait()
        // Pass the signal on, so a later join (e.g. close, then deinit) returns at once too.
        finished.signal()
    }

    /// Runs `body` on a new thread and suspends (without blocking a pool thread) until it returns.
    public static func run<T: Sendable>(name: String, _ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, Error>) in
            let thread = Thread {
                do {
                    continuation.resume(returning: try body())
                } catch {
                    continuation.resume(throwing: error)
                }
            }
            thread.name = name
            thread.start()
        }
    }
}
