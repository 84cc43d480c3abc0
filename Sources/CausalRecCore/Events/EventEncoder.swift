/// Writes events in the wire format README.md gives under "Events and outputs" (what `EventDecoder` reads).
public enum EventEncoder {
    public static func encode(_ event: Event) -> [UInt8] {
        var writer = JSONWriter(reservingCapacity: 128)
        writer.beginObject()
        writer.key("type")
        writer.string(event.typeName)
        writer.key("user")
        writer.string(event.user)
        switch event {
        case let .impression(impression):
            if impression.items.count == 1 {
                writer.key("item")
                writer.string(impression.items[0])
            } else {
                writer.key("items")
                writer.beginArray()
                for item in impression.items { writer.string(item) }
                writer.endArray()
            }
            if let context = impression.context {
                writer.key("context")
                writer.string(context)
            }
            if let position = impression.position {
                writer.key("position")
                writer.integer(position)
            }
        case let .click(click):
            writer.key("item")
            writer.string(click.item)
        case let .request(request):
            if let k = request.k {
                writer.key("k")
                writer.integer(k)
            }
        case .forget:
            break
        }
        if let timestamp = event.timestamp {
            writer.key("ts")
            writer.integer(timestamp)
        }
        writer.endObject()
        return writer.bytes
    }
}
