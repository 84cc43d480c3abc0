import CRdKafka

/// An error from the Kafka layer: what failed, librdkafka's reason, and its response code when
/// there is one.
public struct KafkaError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The operation that failed, so callers can react without parsing messages.
    public enum Kind: String, Sendable, Equatable {
        case configuration
        case clientCreation
        case produce
        case queueFull
        case deliveryFailed
        case flushTimedOut
        case subscription
        case assignment
        case seek
        case commit
        case consume
        case offsetsLookup
        case admin
        case mockCluster
        case closed
        case handlerFailed
    }

    public let kind: Kind
    public let message: String
    /// librdkafka's `rd_kafka_resp_err_t`, when the error came from it.
    public let responseCode: Int32?

    public init(kind: Kind, message: String, responseCode: Int32? = nil) {
        self.kind = kind
        self.message = message
        self.responseCode = responseCode
    }

    public var description: String {
        if let responseCode {
            return "\(kind.rawValue): \(message) (librdkafka error \(responseCode))"
        }
        return "\(kind.rawValue): \(message)"
    }

    /// True for errors librdkafka reports as transient (the broker may come back).
    public var isRetriable: Bool {
        guard let responseCode else { return false }
        switch rd_kafka_resp_err_t(responseCode) {
        case RD_KAFKA_RESP_ERR__TRANSPORT, RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN,
             RD_KAFKA_RESP_ERR__TIMED_OUT, RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,
             RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE, RD_KAFKA_RESP_ERR_NOT_COORDINATOR,
             RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS, RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS,
             RD_KAFKA_RESP_ERR__WAIT_COORD, RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE,
             RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION, RD_KAFKA_RESP_ERR_NETWORK_EXCEPTION:
            return true
        default:
            return false
        }
    }

    /// What a producer can do about an error that refused one message (at `send` or in its
    /// delivery report). The classification is librdkafka's error code, read here so that no
    /// layer above needs raw codes.
    public enum ProduceFailure: Sendable, Equatable {
        /// May succeed when sent again (timed out, broker or leader unavailable).
        case transient
        /// This message can never be produced as it is (too large, invalid record): another
        /// message to the same topic may well succeed.
        case messageRejected
        /// Nothing can be produced to this topic (unknown topic, not authorized, invalid name).
        case destinationRejected
        /// The client itself is unusable (an idempotence or transaction failure); only a new
        /// client can continue.
        case fatal
    }

    public var produceFailure: ProduceFailure {
        guard let responseCode else { return kind == .queueFull ? .transient : .fatal }
        switch rd_kafka_resp_err_t(responseCode) {
        case RD_KAFKA_RESP_ERR__FATAL, RD_KAFKA_RESP_ERR_INVALID_PRODUCER_EPOCH:
            return .fatal
        case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE, RD_KAFKA_RESP_ERR_INVALID_MSG_SIZE, RD_KAFKA_RESP_ERR_INVALID_MSG,
             RD_KAFKA_RESP_ERR_INVALID_RECORD, RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE,
             RD_KAFKA_RESP_ERR_UNSUPPORTED_FOR_MESSAGE_FORMAT, RD_KAFKA_RESP_ERR_POLICY_VIOLATION, RD_KAFKA_RESP_ERR__BAD_MSG,
             RD_KAFKA_RESP_ERR__INVALID_ARG, RD_KAFKA_RESP_ERR_INVALID_TIMESTAMP:
            return .messageRejected
        case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART, RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC, RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION,
             RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED, RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED,
             RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION, RD_KAFKA_RESP_ERR_INVALID_REQUIRED_ACKS:
            return .destinationRejected
        default:
            return .transient
        }
    }

    /// True when the broker cannot be reached at all (as opposed to refusing a request): the
    /// service reports itself unready and waits, librdkafka reconnects.
    public var isConnectivityProblem: Bool {
        guard let responseCode else { return false }
        switch rd_kafka_resp_err_t(responseCode) {
        case RD_KAFKA_RESP_ERR__TRANSPORT, RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN, RD_KAFKA_RESP_ERR__RESOLVE,
             RD_KAFKA_RESP_ERR__TIMED_OUT:
            return true
        default:
            return false
        }
    }

    static func rdkafka(_ kind: Kind, _ code: rd_kafka_resp_err_t, context: String) -> KafkaError {
        KafkaError(kind: kind, message: "\(context): \(String(cString: rd_kafka_err2str(code)))",
                   responseCode: code.rawValue)
    }

    /// Converts an `rd_kafka_error_t` (new-style error object) and destroys it.
    static func consuming(_ error: OpaquePointer, kind: Kind, context: String) -> KafkaError {
        defer { rd_kafka_error_destroy(error) }
        let code = rd_kafka_error_code(error)
        let text = String(cString: rd_kafka_error_string(error))
        return KafkaError(kind: kind, message: "\(context): \(text)", responseCode: code.rawValue)
    }
}
