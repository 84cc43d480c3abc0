import Kafka

/// The producer calls the output path needs: a seam so the settling rules run against an
/// in-memory double in tests.
protocol OutputProducer: AnyObject {
    func send(topic: String, key: [UInt8]?, value: [UInt8], headers: [KafkaHeader]) throws
    func flushCollectingFailures(timeout: Duration) throws -> [KafkaFailedDelivery]
}

extension KafkaProducer: OutputProducer {
    func send(topic: String, key: [UInt8]?, value: [UInt8], headers: [KafkaHeader]) throws {
        try value.withUnsafeBytes { valueBuffer in
            if let key {
                try key.withUnsafeBytes { try send(topic: topic, key: $0, value: valueBuffer, headers: headers) }
            } else {
                try send(topic: topic, key: nil, value: valueBuffer, headers: headers)
            }
        }
    }
}
