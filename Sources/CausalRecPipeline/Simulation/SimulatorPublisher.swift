import CausalRecCore
import Foundation
import Kafka

/// Produces simulator events to a topic (key = user), optionally paced and with malformed
/// messages planted among them to exercise the dead-letter path.
public struct SimulatorPublisher {
    public struct Pacing: Sendable {
        /// Upper bound on the production rate.
        public var eventsPerSecond: Double?
        /// Stay at most this many messages ahead of `consumed()`, so a small broker log (the
        /// mock cluster keeps ~5 MB per partition) never drops an unread message.
        public var maxLead: Int?
        public var consumed: (@Sendable () -> Int)?

        public init(eventsPerSecond: Double? = nil, maxLead: Int? = nil, consumed: (@Sendable () -> Int)? = nil) {
            self.eventsPerSecond = eventsPerSecond
            self.maxLead = maxLead
            self.consumed = consumed
        }
    }

    /// Malformed messages, one of each kind the dead-letter path must handle.
    public static let malformedSamples: [String] = [
        #"{"type":"click","user":"u1","item":"#,
        #"{"type":"click","item":"i1","ts":1732838401456}"#,
        #"{"type":"purchase","user":"u1","item":"i1","ts":1732838401456}"#,
        #"{"type":"click","user":17,"item":"i1","ts":1732838401456}"#,
        #"{"type":"click","user":"u1","item":"i1","ts":1732838401}"#,
    ]

    /// One message above the default 64 KiB event limit.
    public static func oversizeSample(bytes: Int = 200 * 1024) -> String {
        #"{"type":"click","user":"u1","item":"i1","padding":""# + String(repeating: "x", count: bytes) + #""}"#
    }

    public let producer: KafkaProducer
    public let topic: String

    public init(producer: KafkaProducer, topic: String) {
        self.producer = producer
        self.topic = topic
    }

    /// Produces `count` valid events from `simulator`, plus one malformed message after every
    /// `malformedEvery` valid ones (nil = none) and, when `includeOversize`, one oversized message
    /// among the first malformed ones. `observe` sees each valid event before it is sent.
    /// Returns the number of messages sent (valid + malformed).
    @discardableResult
    public func publish(count: Int, from simulator: inout ClickSimulator, pacing: Pacing = Pacing(),
                        malformedEvery: Int? = nil, includeOversize: Bool = false,
                        shouldStop: () -> Bool = { false }, observe: (Event) -> Void = { _ in }) throws -> Int
    {
        let clock = ContinuousClock()
        let start = clock.now
        var sent = 0
        var malformedSent = 0
        for index in 0..<count {
            if shouldStop() { break }
            try waitForPacing(sent: sent, start: start, clock: clock, pacing: pacing, shouldStop: shouldStop)
            let event = simulator.next()
            observe(event)
            try producer.send(topic: topic, key: event.user, value: EventEncoder.encode(event))
            sent += 1
            if let every = malformedEvery, (index + 1) % every == 0 {
                let payload = includeOversize && malformedSent == 1
                    ? Self.oversizeSample()
                    : Self.malformedSamples[malformedSent % Self.malformedSamples.count]
                try producer.send(topic: topic, key: "malformed-\(malformedSent)", value: payload)
                malformedSent += 1
                sent += 1
            }
        }
        try producer.flush(timeout: .seconds(60))
        return sent
    }

    private func waitForPacing(sent: Int, start: ContinuousClock.Instant, clock: ContinuousClock, pacing: Pacing,
                               shouldStop: () -> Bool) throws
    {
        if let rate = pacing.eventsPerSecond, rate > 0 {
            let due = start.advanced(by: .seconds(Double(sent) / rate))
            let wait = due - clock.now
            if wait > .milliseconds(1) {
                Thread.sleep(forTimeInterval: wait.inSeconds)
            }
        }
        if let maxLead = pacing.maxLead, let consumed = pacing.consumed {
            while sent - consumed() > maxLead && !shouldStop() {
                Thread.sleep(forTimeInterval: 0.005)
            }
        }
    }
}
