import CausalRecCore
import Kafka

/// Publishes drift alerts to the alerts topic in the format README.md gives under "Events and outputs".
final class AlertPublisher {
    private let sender: OutputSender
    let topic: String

    init(sender: OutputSender, topic: String) {
        self.sender = sender
        self.topic = topic
    }

    func publish(_ alert: DriftAlert) throws {
        try sender.send(.alerts, topic: topic, key: Array(alert.metric.utf8), value: Self.encode(alert),
                        context: "the \(alert.metric) alert at event \(alert.eventIndex)")
    }

    static func encode(_ alert: DriftAlert) -> [UInt8] {
        var writer = JSONWriter(reservingCapacity: 256)
        writer.beginObject()
        writer.field("metric", alert.metric)
        writer.field("value", alert.value)
        writer.field("threshold", alert.threshold)
        writer.key("window")
        writer.beginObject()
        writer.field("start", alert.windowStart)
        writer.field("end", alert.windowEnd)
        writer.endObject()
        writer.field("method", alert.method)
        writer.field("severity", alert.severity)
        writer.field("ts", alert.timestamp)
        writer.field("event_index", Int64(alert.eventIndex))
        writer.endObject()
        return writer.bytes
    }
}
