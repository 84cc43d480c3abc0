import Synchronization

/// Counters of the event loop, readable from other threads (progress, demo pacing, tests).
package final class ProcessingCounters: Sendable {
    /// Messages taken from the input topic and handled (valid or dead-lettered).
    package let messages = Atomic<Int>(0)
    package let deadLettered = Atomic<Int>(0)
    /// Events the event clock applied at its current time instead of their own, later one.
    package let heldBack = Atomic<Int>(0)
    package let recommendationsPublished = Atomic<Int>(0)
    package let modelVersion = Atomic<Int>(0)

    package init() {}
}
