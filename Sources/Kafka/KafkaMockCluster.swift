import CRdKafka
import Logging

/// librdkafka's embedded mock cluster (`rdkafka_mock.h`): real Kafka-protocol brokers on
/// loopback ports inside this process. Producers, consumers and admin clients reach it through
/// `bootstrapServers` exactly as they would reach a real cluster, which is why the demo and the
/// fast tests use it. It keeps only a few MB per partition, so readers must keep up.
public final class KafkaMockCluster: @unchecked Sendable {
    /// librdkafka ties a mock cluster to a client handle; this one exists only to own it.
    private let owner: RDKafkaClient
    private let cluster: OpaquePointer
    public let bootstrapServers: String
    public let brokerCount: Int

    public init(brokers: Int = 1, logger: Logger) throws {
        self.owner = try RDKafkaClient(type: .producer, properties: ["log_level": "3"],
                                       callbacks: RDKafkaCallbacks(logger: logger))
        guard let cluster = rd_kafka_mock_cluster_new(owner.handle, Int32(brokers)) else {
            throw KafkaError(kind: .mockCluster, message: "rd_kafka_mock_cluster_new failed")
        }
        self.cluster = cluster
        self.bootstrapServers = String(cString: rd_kafka_mock_cluster_bootstraps(cluster))
        self.brokerCount = brokers
    }

    deinit {
        // The cluster must go before the handle that owns it.
        rd_kafka_mock_cluster_destroy(cluster)
        owner.destroy()
    }

    public func createTopic(_ name: String, partitions: Int, replicationFactor: Int = 1) throws {
        let code = rd_kafka_mock_topic_create(cluster, name, Int32(partitions), Int32(replicationFactor))
        guard code == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError.rdkafka(.mockCluster, code, context: "creating mock topic '\(name)'")
        }
    }

    /// Makes a broker unreachable (connections are closed and refused) until `setBrokerUp`.
    public func setBrokerDown(_ brokerID: Int32) {
        _ = rd_kafka_mock_broker_set_down(cluster, brokerID)
    }

    public func setBrokerUp(_ brokerID: Int32) {
        _ = rd_kafka_mock_broker_set_up(cluster, brokerID)
    }

    /// The next requests of `apiKey` (Kafka protocol API key, e.g. 0 = Produce, 1 = Fetch,
    /// 8 = OffsetCommit) fail with these error codes, one per request.
    public func failNextRequests(apiKey: Int16, errors: [Int32]) {
        var codes = errors.map { rd_kafka_resp_err_t($0) }
        codes.withUnsafeMutableBufferPointer { buffer in
            rd_kafka_mock_push_request_errors_array(cluster, apiKey, buffer.count, buffer.baseAddress)
        }
    }

    public func clearRequestErrors(apiKey: Int16) {
        rd_kafka_mock_clear_request_errors(cluster, apiKey)
    }
}
