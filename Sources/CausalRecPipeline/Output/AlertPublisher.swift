import CausalRecCore
import Kafka

/// Publishes drift alerts to the alerts topic in the format of DESIGN.md §2.
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
        writer.key("metric")
        writer.string(alert.metric)
        writer.key("value")
        writer.number(alert.value)
        writer.key("threshold")
        writer.number(alert.threshold)
        writer.key("window")
        writer.beginObject()
        writer.key("start")
        writer.integer(alert.windowStart)
        writer.key("end")
        writer.integer(alert.windowEnd)
        writer.endObject()
        writer.key("method")
        writer.string(alert.method)
        writer.key("severity")
        writer.string(alert.severity)
        writer.key("ts")
        writer.integer(alert.timestamp)
        writer.key("event_index")
        writer.integer(Int64(alert.eventIndex))
        writer.endObject()
        return writer.bytes
    }
}
