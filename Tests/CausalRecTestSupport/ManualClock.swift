import Synchronization

/// A clock that moves only when a test moves it.
package final class ManualClock: Sendable {
    private let elapsed = Mutex(Duration.zero)
    package let start = ContinuousClock.now

    package init() {}

    package var now: ContinuousClock.Instant { start + elapsed.withLock { $0 } }
    package func advance(_ duration: Duration) { elapsed.withLock { $0 += duration } }
}
