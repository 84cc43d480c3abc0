import CausalRecPipeline
import Kafka

/// A producer in memory: it refuses what a broker would refuse (by size or by topic) either at
/// `send` or later in a delivery report, and fails transiently on demand.
package final class ScriptedProducer: OutputProducer {
    package struct Sent: Equatable {
        package var topic: String
        package var key: [UInt8]?
        package var value: [UInt8]
        package var headers: [KafkaHeader]

        package init(topic: String, key: [UInt8]?, value: [UInt8], headers: [KafkaHeader]) {
            self.topic = topic
            self.key = key
            self.value = value
            self.headers = headers
        }
    }

    package init() {}

    /// librdkafka's own `message.max.bytes` check: refused at `send`.
    package var localLimit = Int.max
    /// The broker's limit per topic: refused in the delivery report.
    package var brokerLimit: [String: Int] = [:]
    /// Topics the broker refuses entirely (not authorized).
    package var forbiddenTopics: Set<String> = []
    /// The next this many deliveries time out (transient).
    package var transientFailures = 0
    package var fatal = false
    package private(set) var delivered: [Sent] = []
    private var inFlight: [Sent] = []
    package private(set) var sendCalls = 0

    package static let tooLarge = KafkaError(kind: .produce, message: "Broker: Message size too large", responseCode: 10)
    package static let notAuthorized = KafkaError(kind: .deliveryFailed, message: "Broker: Topic authorization failed", responseCode: 29)
    package static let timedOut = KafkaError(kind: .deliveryFailed, message: "Local: Message timed out", responseCode: -192)
    package static let fatalError = KafkaError(kind: .produce, message: "the producer failed for good", responseCode: -150)

    package func send(topic: String, key: [UInt8]?, value: [UInt8], headers: [KafkaHeader]) throws {
        sendCalls += 1
        if fatal { throw Self.fatalError }
        if value.count + (key?.count ?? 0) > localLimit { throw Self.tooLarge }
        inFlight.append(Sent(topic: topic, key: key, value: value, headers: headers))
    }

    package func flushCollectingFailures(timeout: Duration) throws -> [KafkaFailedDelivery] {
        var failures: [KafkaFailedDelivery] = []
        for message in inFlight {
            var error: KafkaError?
            if forbiddenTopics.contains(message.topic) {
                error = Self.notAuthorized
            } else if let limit = brokerLimit[message.topic], message.value.count + (message.key?.count ?? 0) > limit {
                error = KafkaError(kind: .deliveryFailed, message: "Broker: Message size too large", responseCode: 10)
            } else if transientFailures > 0 {
                transientFailures -= 1
                error = Self.timedOut
            }
            if let error {
                failures.append(KafkaFailedDelivery(topic: message.topic, key: message.key, value: message.value, headers: message.headers, error: error))
            } else {
                delivered.append(message)
            }
        }
        inFlight.removeAll()
        return failures
    }

    package func close(timeout: Duration) throws {
        _ = try flushCollectingFailures(timeout: timeout)
    }
}
