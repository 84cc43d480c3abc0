/// A message header. Kafka allows a null value, which is distinct from an empty one.
public struct KafkaHeader: Hashable, Sendable {
    public var key: String
    public var value: [UInt8]?

    public init(key: String, value: [UInt8]?) {
        self.key = key
        self.value = value
    }

    public init(key: String, string: String) {
        self.key = key
        self.value = Array(string.utf8)
    }

    /// The value decoded as UTF-8, or nil when absent.
    public var stringValue: String? {
        value.map { String(decoding: $0, as: UTF8.self) }
    }
}
