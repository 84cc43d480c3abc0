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
