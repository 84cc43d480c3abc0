import CausalRecCore
import Foundation
import Kafka
import Logging

/// Sets up the users' changelog for a run with `scale_out.enabled`: the instance's id (kept in
/// the checkpoint directory, so a restarted instance recognises its own records), the compacted
/// changelog topic with as many partitions as the events topic (created when missing; a topic of
/// another size is refused: input partition p's users live in changelog partition p), and the
/// stream processor's ownership of partitions over it.
enum ScaleOutSetup {
    static let instanceFile = "instance-id"

    static func parts(_ configuration: PipelineConfiguration, bootstrapServers: String, checkpointDirectory: String,
                      consumer: KafkaConsumer, logger: Logger) throws -> (PartitionOwnership, ItemSync)
    {
        let instance = try instanceID(in: checkpointDirectory)
        let topic = configuration.changelogTopic
        guard let events = try consumer.topicMetadata(configuration.topics.events, timeout: .seconds(10)) else {
            throw ConfigurationError(path: "topics.events", reason: "the topic '\(configuration.topics.events)' does not exist; scale_out.enabled needs its partition count")
        }
        let admin = try KafkaAdmin(bootstrapServers: bootstrapServers, logger: logger)
        var changelog = try consumer.topicMetadata(topic, timeout: .seconds(10))
        if changelog == nil {
            try admin.createTopics([KafkaTopicSpecification(name: topic, partitions: events.partitionCount,
                                                            replicationFactor: configuration.topics.replicationFactor,
                                                            settings: ["cleanup.policy": "compact"])], timeout: .seconds(30))
            changelog = try consumer.topicMetadata(topic, timeout: .seconds(10))
        }
        guard let changelog, changelog.partitionCount == events.partitionCount else {
            throw ConfigurationError(path: "scale_out.changelog_topic",
                                     reason: "the users' changelog '\(topic)' has \(changelog?.partitionCount ?? 0) partitions and the events topic \(events.partitionCount); they must be equal (input partition p's users live in changelog partition p)")
        }
        var producerConfiguration = KafkaClients.producerConfiguration(configuration, bootstrapServers: bootstrapServers)
        producerConfiguration.clientID = "causalrec-changelog"
        let producer = try KafkaProducer(configuration: producerConfiguration, logger: logger)
        // The restore consumer joins no group: only the connection settings of the kafka: map.
        let readProperties = configuration.kafka.filter {
            !KafkaClients.producerOnlyProperties.contains($0.key) && !["group.id", "group.instance.id", "partition.assignment.strategy",
                                                                        "group.protocol"].contains($0.key)
        }
        let log = KafkaChangelog(topic: topic, bootstrapServers: bootstrapServers, properties: readProperties, producer: producer,
                                 logger: logger)
        /// A one-partition log topic (created when missing, refused with another count) and its reader.
        func oneLog(_ name: String, key: String, what: String, settings: [String: String]) throws -> KafkaItemDeltaLog {
            var metadata = try consumer.topicMetadata(name, timeout: .seconds(10))
            if metadata == nil {
                try admin.createTopics([KafkaTopicSpecification(name: name, partitions: 1, replicationFactor: configuration.topics.replicationFactor,
                                                                settings: settings)], timeout: .seconds(30))
                metadata = try consumer.topicMetadata(name, timeout: .seconds(10))
            }
            guard metadata?.partitionCount == 1 else {
                throw ConfigurationError(path: key, reason: "the \(what) topic '\(name)' has \(metadata?.partitionCount ?? 0) partitions; it must have exactly 1")
            }
            return try KafkaItemDeltaLog(topic: name, bootstrapServers: bootstrapServers, properties: readProperties, producer: producer,
                                         logger: logger)
        }
        // One partition: every instance reads every delta, in one order.
        let deltasTopic = configuration.deltasTopic
        let deltaLog = try oneLog(deltasTopic, key: "scale_out.deltas_topic", what: "item deltas", settings: [:])
        // Snapshots: compacted by part index (a snapshot is read whole or not at all).
        let snapshotLog = try oneLog(configuration.snapshotsTopic, key: "scale_out.snapshots_topic", what: "item snapshots",
                                     settings: ["cleanup.policy": "compact"])
        logger.info("scale-out: partitions' users move through the users' changelog, items are shared through deltas",
                    metadata: ["instance": "\(instance)", "changelog": "\(topic)", "deltas": "\(deltasTopic)",
                               "partitions": "\(events.partitionCount)"])
        let dimension = configuration.recommender.model.dimension
        return (PartitionOwnership(handover: PartitionHandover(instance: instance, log: log, dimension: dimension),
                                   inputPartitions: Int(events.partitionCount), logger: logger),
                ItemSync(instance: instance, log: deltaLog, dimension: dimension, snapshots: snapshotLog,
                         snapshotIntervalMilliseconds: Int64(configuration.scaleOut.snapshotIntervalMilliseconds), logger: logger))
    }

    /// The id in `directory`'s instance file, made (a random UUID) when there is none.
    static func instanceID(in directory: String) throws -> String {
        let path = (directory as NSString).appendingPathComponent(instanceFile)
        if let data = FileManager.default.contents(atPath: path) {
            let id = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            guard !id.isEmpty, id.utf8.count <= 64, id.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" }) else {
                throw ConfigurationError(path: "checkpoint.directory", reason: "'\(path)' does not hold an instance id (letters, digits and '-', at most 64)")
            }
            return id
        }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let id = UUID().uuidString.lowercased()
        try Data((id + "\n").utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
        return id
    }
}
