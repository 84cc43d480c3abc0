import CRdKafka
import Logging

/// Owns one `rd_kafka_t` and the callback context it points to.
///
/// Destroy order (librdkafka requires it, and the callbacks depend on it):
/// 1. the owner stops every thread that polls this handle (producer poll thread, consumer loop);
/// 2. a consumer is closed (`rd_kafka_consumer_close`, which may run the rebalance callback);
/// 3. `rd_kafka_destroy` — may still call log/error/delivery callbacks, so `callbacks` is alive;
/// 4. `callbacks` is released when this object is deallocated, after destroy returned.
final class RDKafkaClient: @unchecked Sendable {
    enum ClientType {
        case producer
        case consumer
    }

    let handle: OpaquePointer
    let callbacks: RDKafkaCallbacks
    let type: ClientType
    private var destroyed = false

    init(type: ClientType, properties: [String: String], callbacks: RDKafkaCallbacks) throws {
        let conf = try RDKafkaConfig.make(properties)
        callbacks.redactor = KafkaSecretRedactor(properties: properties)
        callbacks.install(on: conf)
        var errorBuffer = [CChar](repeating: 0, count: 512)
        let rdType = type == .producer ? RD_KAFKA_PRODUCER : RD_KAFKA_CONSUMER
        guard let handle = rd_kafka_new(rdType, conf, &errorBuffer, errorBuffer.count) else {
            rd_kafka_conf_destroy(conf)
            let reason = String(decoding: errorBuffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            throw KafkaError(kind: .clientCreation, message: KafkaSecretRedactor(properties: properties).redact(reason))
        }
        self.handle = handle
        self.callbacks = callbacks
        self.type = type
    }

    /// Step 3 of the destroy order; idempotent. Call only after every poller has stopped.
    func destroy() {
        guard !destroyed else { return }
        destroyed = true
        rd_kafka_destroy(handle)
    }

    deinit {
        destroy()
    }

    var name: String { String(cString: rd_kafka_name(handle)) }

    /// Whether the consumer group uses the incremental (cooperative) rebalance protocol.
    var usesCooperativeRebalancing: Bool {
        guard let text = rd_kafka_rebalance_protocol(handle) else { return false }
        return String(cString: text) == "COOPERATIVE"
    }

    /// The assignment librdkafka would make without an application callback.
    static func defaultRebalance(_ rk: OpaquePointer?, code: rd_kafka_resp_err_t,
                                 partitions: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>)
    {
        guard let rk else { return }
        let cooperative = rd_kafka_rebalance_protocol(rk).map { String(cString: $0) == "COOPERATIVE" } ?? false
        if code == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS {
            if cooperative {
                if let error = rd_kafka_incremental_assign(rk, partitions) { rd_kafka_error_destroy(error) }
            } else {
                rd_kafka_assign(rk, partitions)
            }
        } else {
            if cooperative {
                if let error = rd_kafka_incremental_unassign(rk, partitions) { rd_kafka_error_destroy(error) }
            } else {
                rd_kafka_assign(rk, nil)
            }
        }
    }
}
