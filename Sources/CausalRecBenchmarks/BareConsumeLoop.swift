import CausalRecCore
import CausalRecPipeline
import CRdKafka
import Foundation
import Kafka

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
        let conf = rd_kafka_conf_new()
        var setError = [CChar](repeating: 0, count: 512)
        for (key, value) in properties where rd_kafka_conf_set(conf, key, value, &setError, setError.count) != RD_KAFKA_CONF_OK {
            rd_kafka_conf_destroy(conf)
            throw KafkaError(kind: .configuration, message: "bare consumer: \(key)")
        }
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
        let list = rd_kafka_topic_partition_list_new(Int32(partitions))!
        for partition in 0..<partitions {
            rd_kafka_topic_partition_list_add(list, topic, Int32(partition)).pointee.offset = KafkaOffset.beginning
        }
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
        return (clock.now - first).inSeconds
    }
}
