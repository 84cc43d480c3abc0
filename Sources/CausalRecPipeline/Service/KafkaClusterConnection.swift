import Kafka
import Logging

/// The cluster a command talks to: a real one by its bootstrap servers, or the embedded mock
/// cluster started (and owned) here.
public final class KafkaClusterConnection: Sendable {
    public let bootstrapServers: String
    private let mock: KafkaMockCluster?
    private let logger: Logger

    public var isEmbedded: Bool { mock != nil }

    public init(_ brokers: PipelineConfiguration.Brokers, logger: Logger) throws {
        self.logger = logger
        switch brokers {
        case .embedded:
            let cluster = try KafkaMockCluster(brokers: 1, logger: logger)
            mock = cluster
            bootstrapServers = cluster.bootstrapServers
            logger.info("started the embedded mock Kafka cluster", metadata: ["bootstrap": "\(cluster.bootstrapServers)"])
        case let .servers(list):
            mock = nil
            bootstrapServers = list.joined(separator: ",")
        }
    }

    /// Creates the configured topics that do not exist yet (a no-op for existing ones).
    public func ensureTopics(_ topics: PipelineConfiguration.Topics, timeout: Duration = .seconds(30)) throws {
        guard topics.create else { return }
        let names = [topics.events, topics.recommendations, topics.alerts, topics.deadLetter]
        if let mock {
            for name in names { try mock.createTopic(name, partitions: topics.partitions) }
            return
        }
        let admin = try KafkaAdmin(bootstrapServers: bootstrapServers, logger: logger)
        try admin.createTopics(names.map {
            KafkaTopicSpecification(name: $0, partitions: topics.partitions, replicationFactor: topics.replicationFactor)
        }, timeout: timeout)
    }
}
