import CRdKafka
import Foundation

/// The reference for consumer benchmarks: the plainest librdkafka consume loop — one
/// `rd_kafka_consumer_poll` per message, count it, destroy it — on a manual assignment from the
/// beginning. Comparing our consumer (and the whole service) against it on the same topic in the
/// same run shows what the Swift layers cost.
public enum KafkaBareConsumeLoop {
    /// Consumes `expected` messages from all `partitions` of `topic`; returns the seconds from the
    /// first message to the last.
    public static func consume(bootstrapServers: String, topic: String, partitions: Int, expected: Int,
                               timeout: Duration = .seconds(120)) throws -> Double
    {
        let properties = ["bootstrap.servers": bootstrapServers, "group.id": "bare-\(UUID().uuidString)",
                          "enable.auto.commit": "false", "auto.offset.reset": "earliest"]
        let conf = try RDKafkaConfig.make(properties)
        var errorBuffer = [CChar](repeating: 0, count: 512)
        guard let handle = rd_kafka_new(RD_KAFKA_CONSUMER, conf, &errorBuffer, errorBuffer.count) else {
            rd_kafka_conf_destroy(conf)
            throw KafkaError(kind: .clientCreation, message: "bare consumer could not be created")
        }
        defer {
            rd_kafka_consumer_close(handle)
            rd_kafka_destroy(handle)
        }
        rd_kafka_poll_set_consumer(handle)
        let list = RDKafkaTopicPartitionList.make((0..<partitions).map {
            KafkaTopicPartitionOffset(topic: topic, partition: Int32($0), offset: KafkaOffset.beginning)
        })
        defer { rd_kafka_topic_partition_list_destroy(list) }
        rd_kafka_assign(handle, list)
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        var first: ContinuousClock.Instant?
        var count = 0
        while count < expected && clock.now < deadline {
            // Non-blocking while messages flow (a blocking poll costs more per call), waiting only
            // when the local queue is empty.
            guard let message = rd_kafka_consumer_poll(handle, 0) ?? rd_kafka_consumer_poll(handle, 100) else { continue }
            if message.pointee.err == RD_KAFKA_RESP_ERR_NO_ERROR {
                if first == nil { first = clock.now }
                count += 1
            }
            rd_kafka_message_destroy(message)
        }
        guard count == expected, let first else {
            throw KafkaError(kind: .consume, message: "bare loop read \(count) of \(expected) messages")
        }
        let elapsed = clock.now - first
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    }
}
