import Kafka
import Logging

/// The service's three outputs.
enum OutputKind: String, CaseIterable, Sendable {
    case recommendations
    case alerts
    case deadLetter = "dead_letter"
}

/// What happens to an output that could not be produced, by the kind of output and of failure.
///
/// A bad output never stops the service: a recommendation or alert the broker refuses for good
/// is dropped (counted and logged), a dead-letter record is cut down until it fits. Transient
/// failures are sent again, and the input offsets wait for them. Only a client that failed for
/// good, or a dead-letter topic that refuses even a record of headers (it does not exist, or we
/// may not write to it), stops the service — continuing would lose the record of bad input.
enum OutputFailurePolicy {
    enum Action: String, CaseIterable, Sendable {
        case sendAgain = "sent_again"
        case reduce = "cut"
        case drop = "dropped"
        case stop = "stopped"
    }

    static func action(for kind: OutputKind, failure: KafkaError.ProduceFailure) -> Action {
        switch (failure, kind) {
        case (.fatal, _): .stop
        case (.transient, _): .sendAgain
        case (.messageRejected, .deadLetter): .reduce
        case (.destinationRejected, .deadLetter): .stop
        case (.messageRejected, _), (.destinationRejected, _): .drop
        }
    }
}

/// Raised when an output failure must stop the service.
struct OutputFailure: Error, CustomStringConvertible {
    let description: String
}

/// Sends outputs through one producer and settles the ones that fail (`OutputFailurePolicy`),
/// so that a flush returns only when every output sent so far is delivered, dropped on purpose,
/// or replaced by a record that was delivered. Callers commit input offsets only after a flush.
final class OutputSender {
    private let producer: any OutputProducer
    private let kinds: [String: OutputKind]
    private let metrics: OutputMetrics
    private let logger: Logger
    let deadLetterLimits: DeadLetterRecord.Limits

    init(producer: any OutputProducer, topics: PipelineConfiguration.Topics, deadLetterLimits: DeadLetterRecord.Limits,
         metrics: ServiceMetrics, outputMetrics: OutputMetrics? = nil, logger: Logger)
    {
        self.producer = producer
        kinds = [topics.recommendations: .recommendations, topics.alerts: .alerts, topics.deadLetter: .deadLetter]
        self.deadLetterLimits = deadLetterLimits
        self.metrics = outputMetrics ?? OutputMetrics(factory: metrics.factory)
        self.logger = logger
    }

    /// Sends one output. A refusal at `send` (librdkafka checks size and topic before queueing)
    /// is settled at once; returns false when the output was dropped.
    @discardableResult
    func send(_ kind: OutputKind, topic: String, key: [UInt8]?, value: [UInt8], headers: [KafkaHeader] = [],
              context: @autoclosure () -> String) throws -> Bool
    {
        var failed: KafkaFailedDelivery
        do {
            try producer.send(topic: topic, key: key, value: value, headers: headers)
            return true
        } catch let error as KafkaError where error.kind == .produce {
            failed = KafkaFailedDelivery(topic: topic, key: key, value: value, headers: headers, error: error)
        }
        // Settle synchronous refusals until one form is queued or the output is dropped.
        while true {
            switch try settle(failed, kind: kind, context: context()) {
            case .dropped:
                return false
            case let .replacement(key, value, headers):
                do {
                    try producer.send(topic: topic, key: key, value: value, headers: headers)
                    return true
                } catch let error as KafkaError where error.kind == .produce {
                    failed = KafkaFailedDelivery(topic: topic, key: key, value: value, headers: headers, error: error)
                }
            }
        }
    }

    /// Waits (at most `timeout`) until every output sent so far is delivered or settled: failed
    /// ones are sent again, cut down or dropped per `OutputFailurePolicy`, and their replacements
    /// waited for as well. Throws `flushTimedOut` when the deadline passes first (nothing may be
    /// committed then), and `OutputFailure` or the client's fatal error when the service must stop.
    func flush(timeout: Duration) throws {
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        while true {
            let remaining = max(.zero, deadline - clock.now)
            let failures = try producer.flushCollectingFailures(timeout: remaining)
            if failures.isEmpty { return }
            for failure in failures {
                let kind = kinds[failure.topic] ?? .recommendations
                try settleDelivery(failure, kind: kind)
            }
            if clock.now >= deadline {
                throw KafkaError(kind: .flushTimedOut, message: "outputs sent again after a failed delivery are still in flight after \(timeout)")
            }
        }
    }

    private enum Settlement {
        case dropped
        case replacement(key: [UInt8]?, value: [UInt8], headers: [KafkaHeader])
    }

    /// Settles a failed delivery and queues its replacement, if it has one.
    private func settleDelivery(_ failure: KafkaFailedDelivery, kind: OutputKind) throws {
        let topic = failure.topic
        switch try settle(failure, kind: kind, context: "delivery to '\(topic)'") {
        case .dropped:
            return
        case let .replacement(key, value, headers):
            try send(kind, topic: topic, key: key, value: value, headers: headers, context: "a replacement record for '\(topic)'")
        }
    }

    private func settle(_ failure: KafkaFailedDelivery, kind: OutputKind, context: String) throws -> Settlement {
        let action = OutputFailurePolicy.action(for: kind, failure: failure.error.produceFailure)
        metrics.failures[kind]?[action]?.increment()
        switch action {
        case .stop:
            logger.critical("output to '\(failure.topic)' failed for good; stopping so that nothing is lost: \(failure.error)")
            if failure.error.produceFailure == .fatal { throw failure.error }
            throw OutputFailure(description: "the \(kind.rawValue) topic '\(failure.topic)' refuses records: \(failure.error)")
        case .drop:
            logger.warning("\(kind.rawValue) output of \(failure.value.count) bytes dropped (\(context)): \(failure.error)")
            return .dropped
        case .sendAgain:
            logger.debug("sending an output again after a transient failure", metadata: ["topic": "\(failure.topic)",
                                                                                        "error": "\(failure.error)"])
            return .replacement(key: failure.key, value: failure.value, headers: failure.headers)
        case .reduce:
            let record = DeadLetterRecord(key: failure.key, value: failure.value, headers: failure.headers)
            guard let reduced = record.reduced(prefixBytes: deadLetterLimits.prefixBytes) else {
                logger.critical("the dead-letter topic '\(failure.topic)' refuses even a record of headers; stopping so that nothing is lost: \(failure.error)")
                throw OutputFailure(description: "the dead-letter topic '\(failure.topic)' refuses even a record of headers: \(failure.error)")
            }
            logger.warning("dead-letter record cut to \(reduced.value.count) bytes after the broker refused \(failure.value.count): \(failure.error)")
            return .replacement(key: reduced.key, value: reduced.value, headers: reduced.headers)
        }
    }
}
