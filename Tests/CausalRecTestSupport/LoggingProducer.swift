import CausalRecPipeline
import Kafka

/// A producer that writes what it is asked into a `CallLog`; it can refuse sends with
/// `.queueFull` and time out flushes on demand.
package final class LoggingProducer: OutputProducer {
    package let log: CallLog
    package var flushTimesOut = false
    /// Sends refused with `.queueFull` (counted from 1 over all topics).
    package var queueFullAt: Set<Int> = []
    private var sends = 0

    package init(log: CallLog) { self.log = log }

    package func send(topic: String, key: [UInt8]?, value: [UInt8], headers: [KafkaHeader]) throws {
        sends += 1
        if queueFullAt.contains(sends) { throw KafkaError(kind: .queueFull, message: "local queue stayed full") }
        log.append("send \(topic)")
    }

    package func flushCollectingFailures(timeout: Duration) throws -> [KafkaFailedDelivery] {
        if flushTimesOut { throw KafkaError(kind: .flushTimedOut, message: "1 message(s) still in flight after \(timeout)") }
        log.append("flush")
        return []
    }

    package func close(timeout: Duration) throws {
        log.append("producer close")
    }
}
