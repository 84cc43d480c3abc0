import Kafka

/// The producer calls the service needs: a seam so the settling rules and the shutdown order run
/// against an in-memory double in tests.
package protocol OutputProducer: AnyObject {
    func send(topic: String, key: [UInt8]?, value: [UInt8], headers: [KafkaHeader]) throws
    func flushCollectingFailures(timeout: Duration) throws -> [KafkaFailedDelivery]
    /// Flushes within `timeout`, then releases the client.
    func close(timeout: Duration) throws
}

extension KafkaProducer: OutputProducer {
    package func send(topic: String, key: [UInt8]?, value: [UInt8], headers: [KafkaHeader]) throws {
        try value.withUnsafeBytes { valueBuffer in
            if let key {
                try key.withUnsafeBytes { try send(topic: topic, key: $0, value: valueBuffer, headers: headers) }
            } else {
                try send(topic: topic, key: nil, value: valueBuffer, headers: headers)
            }
        }
    }
}
