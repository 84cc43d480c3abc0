import CRdKafka
import Logging

/// The object librdkafka's callbacks reach through the client's opaque pointer.
///
/// Lifetime: the owning `RDKafkaClient` holds it strongly and passes it unretained to librdkafka.
/// It must outlive `rd_kafka_destroy`, because destroy can still invoke the log, error and
/// delivery-report callbacks; `RDKafkaClient` therefore releases it only after destroy returns.
final class RDKafkaCallbacks: @unchecked Sendable {
    let logger: Logger
    /// Called for every delivery report (producer), on whichever thread serves the queue.
    let deliveryReport: (@Sendable (UnsafePointer<rd_kafka_message_t>) -> Void)?
    /// Called during `rd_kafka_consumer_poll`/`rd_kafka_consumer_close` on the polling thread.
    /// Set once, before the first poll (it needs the consumer object, which exists only after the
    /// client does), and only read afterwards on the same thread.
    var rebalance: ((rd_kafka_resp_err_t, UnsafeMutablePointer<rd_kafka_topic_partition_list_t>) -> Void)?
    /// Set before the callbacks are installed, read-only afterwards: librdkafka's log lines and
    /// error reasons pass through it (a debug dump of the configuration would show secrets).
    var redactor = KafkaSecretRedactor(properties: [:])

    init(logger: Logger,
         deliveryReport: (@Sendable (UnsafePointer<rd_kafka_message_t>) -> Void)? = nil)
    {
        self.logger = logger
        self.deliveryReport = deliveryReport
    }

    static func from(_ opaque: UnsafeMutableRawPointer?) -> RDKafkaCallbacks? {
        guard let opaque else { return nil }
        return Unmanaged<RDKafkaCallbacks>.fromOpaque(opaque).takeUnretainedValue()
    }

    /// Installs the C trampolines on `conf`; `self` must outlive the client created from it.
    func install(on conf: OpaquePointer) {
        rd_kafka_conf_set_opaque(conf, Unmanaged.passUnretained(self).toOpaque())
        rd_kafka_conf_set_log_cb(conf) { rk, level, facility, message in
            guard let rk, let callbacks = RDKafkaCallbacks.from(rd_kafka_opaque(rk)) else { return }
            let facilityText = facility.map { String(cString: $0) } ?? "-"
            let text = callbacks.redactor.redact(message.map { String(cString: $0) } ?? "")
            // A library logs at debug/trace; problems reach the application through the error
            // callback and consumer errors, which it reports at its own level.
            let swiftLevel: Logger.Level = level <= 4 ? .debug : .trace
            callbacks.logger.log(level: swiftLevel, "\(text)", metadata: ["rdkafka.facility": "\(facilityText)"])
        }
        rd_kafka_conf_set_error_cb(conf) { _, code, reason, opaque in
            guard let callbacks = RDKafkaCallbacks.from(opaque) else { return }
            let text = callbacks.redactor.redact(reason.map { String(cString: $0) } ?? "")
            callbacks.logger.debug("librdkafka error", metadata: ["code": "\(code)", "reason": "\(text)"])
        }
        if deliveryReport != nil {
            rd_kafka_conf_set_dr_msg_cb(conf) { _, message, opaque in
                guard let message, let callbacks = RDKafkaCallbacks.from(opaque) else { return }
                callbacks.deliveryReport?(message)
            }
        }
        rd_kafka_conf_set_rebalance_cb(conf) { rk, code, partitions, opaque in
            guard let callbacks = RDKafkaCallbacks.from(opaque), let partitions else { return }
            if let rebalance = callbacks.rebalance {
                rebalance(code, partitions)
            } else {
                // No owner yet: apply librdkafka's default behaviour so the group is never stuck.
                RDKafkaClient.defaultRebalance(rk, code: code, partitions: partitions)
            }
        }
    }
}
