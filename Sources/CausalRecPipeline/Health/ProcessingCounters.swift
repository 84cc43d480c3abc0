import Synchronization

/// Counters of the event loop, readable from other threads (progress, demo pacing, tests).
public final class ProcessingCounters: Sendable {
    /// Messages taken from the input topic and handled (valid or dead-lettered).
    public let messages = Atomic<Int>(0)
    public let deadLettered = Atomic<Int>(0)
    public let recommendationsPublished = Atomic<Int>(0)
    public let modelVersion = Atomic<Int>(0)

    public init() {}
}
