import CRdKafka

/// Conversions between Swift partition values and `rd_kafka_topic_partition_list_t`.
enum RDKafkaTopicPartitionList {
    /// Creates an owned list; destroy it with `rd_kafka_topic_partition_list_destroy`.
    static func make(_ entries: [KafkaTopicPartitionOffset]) -> UnsafeMutablePointer<rd_kafka_topic_partition_list_t> {
        let list = rd_kafka_topic_partition_list_new(Int32(max(entries.count, 1)))!
        for entry in entries {
            let element = rd_kafka_topic_partition_list_add(list, entry.topic, entry.partition)!
            element.pointee.offset = entry.offset
        }
        return list
    }

    static func make(_ partitions: [KafkaTopicPartition], offset: Int64 = KafkaOffset.invalid)
        -> UnsafeMutablePointer<rd_kafka_topic_partition_list_t>
    {
        make(partitions.map { KafkaTopicPartitionOffset($0, offset: offset) })
    }

    static func entries(_ list: UnsafePointer<rd_kafka_topic_partition_list_t>) -> [KafkaTopicPartitionOffset] {
        var result: [KafkaTopicPartitionOffset] = []
        result.reserveCapacity(Int(list.pointee.cnt))
        for index in 0..<Int(list.pointee.cnt) {
            let element = list.pointee.elems[index]
            result.append(KafkaTopicPartitionOffset(topic: String(cString: element.topic),
                                                    partition: element.partition,
                                                    offset: element.offset))
        }
        return result
    }

    /// The first per-partition error in a list, if any.
    static func firstError(_ list: UnsafePointer<rd_kafka_topic_partition_list_t>) -> (KafkaTopicPartition, rd_kafka_resp_err_t)? {
        for index in 0..<Int(list.pointee.cnt) {
            let element = list.pointee.elems[index]
            if element.err != RD_KAFKA_RESP_ERR_NO_ERROR {
                return (KafkaTopicPartition(topic: String(cString: element.topic), partition: element.partition),
                        element.err)
            }
        }
        return nil
    }
}
