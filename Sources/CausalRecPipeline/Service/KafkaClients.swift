import Kafka

/// The service's producer and consumer settings, from the configuration: the typed settings
/// plus the `kafka:` pass-through map, each side without the other side's properties.
enum KafkaClients {
    static func producerConfiguration(_ configuration: PipelineConfiguration, bootstrapServers: String) -> KafkaProducerConfiguration {
        var producer = KafkaProducerConfiguration(bootstrapServers: bootstrapServers)
        producer.properties = configuration.kafka.filter { !consumerOnlyProperties.contains($0.key) }
        producer.lingerMilliseconds = configuration.producer.lingerMilliseconds
        producer.deliveryTimeoutMilliseconds = configuration.producer.deliveryTimeoutMilliseconds
        producer.queueFullDeadline = .milliseconds(configuration.producer.queueFullTimeoutMilliseconds)
        producer.clientID = "causalrec-\(configuration.groupID)"
        // Idempotent by default; the kafka: map may switch it off (the typed field would otherwise win).
        if let value = configuration.kafka["enable.idempotence"] {
            producer.idempotent = !["false", "f", "0"].contains(value.lowercased())
        }
        return producer
    }

    static func consumerConfiguration(_ configuration: PipelineConfiguration, bootstrapServers: String) -> KafkaConsumerConfiguration {
        var consumer = KafkaConsumerConfiguration(bootstrapServers: bootstrapServers, groupID: configuration.groupID)
        consumer.properties = configuration.kafka.filter { !producerOnlyProperties.contains($0.key) }
        consumer.clientID = "causalrec-\(configuration.groupID)"
        // The typed defaults yield to the file's kafka: map for the group timing settings.
        if let value = configuration.kafka["session.timeout.ms"].flatMap(Int.init) { consumer.sessionTimeoutMilliseconds = value }
        if let value = configuration.kafka["heartbeat.interval.ms"].flatMap(Int.init) { consumer.heartbeatIntervalMilliseconds = value }
        if let value = configuration.kafka["max.poll.interval.ms"].flatMap(Int.init) { consumer.maxPollIntervalMilliseconds = value }
        if let value = configuration.kafka["auto.offset.reset"] { consumer.autoOffsetReset = value }
        // With several instances a rebalance should move only the partitions that change owner
        // (each move costs a flush and a restore), not revoke every partition of every member.
        if configuration.scaleOut.enabled && configuration.kafka["partition.assignment.strategy"] == nil {
            consumer.properties["partition.assignment.strategy"] = "cooperative-sticky"
        }
        return consumer
    }

    /// librdkafka warns about (or rejects) consumer settings on a producer and vice versa.
    static let consumerOnlyProperties: Set<String> = [
        "session.timeout.ms", "heartbeat.interval.ms", "max.poll.interval.ms", "auto.offset.reset",
        "group.id", "group.instance.id", "partition.assignment.strategy", "enable.auto.commit",
        "enable.auto.offset.store", "fetch.min.bytes", "fetch.max.bytes", "fetch.wait.max.ms",
        "max.partition.fetch.bytes", "queued.min.messages", "queued.max.messages.kbytes",
        "isolation.level", "enable.partition.eof", "check.crcs", "group.protocol",
    ]
    static let producerOnlyProperties: Set<String> = [
        "linger.ms", "queue.buffering.max.ms", "queue.buffering.max.messages", "queue.buffering.max.kbytes",
        "batch.num.messages", "batch.size", "compression.type", "compression.codec", "enable.idempotence",
        "acks", "request.required.acks", "message.timeout.ms", "delivery.timeout.ms", "retries",
        "message.send.max.retries", "transactional.id", "partitioner",
    ]
}
