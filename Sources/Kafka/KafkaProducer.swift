import CRdKafka
import Logging
import Synchronization

/// An idempotent Kafka producer.
///
/// `send` is non-blocking while librdkafka's local queue has room; when it is full, `send` waits
/// (backpressure) until there is room or `queueFullDeadline` passes, and then throws — it never
/// drops a message. Delivery reports are served on a dedicated poll thread and counted; a message
/// librdkafka gives up on is kept (bytes and error) until the application takes it with
/// `flushCollectingFailures`, which waits for everything in flight — what a caller needs before
/// committing the input offsets the messages derive from.
public final class KafkaProducer: Sendable {
    private let client: RDKafkaClient
    private let pollThread: DedicatedThread
    private let shared: Shared
    private let configuration: KafkaProducerConfiguration
    private let logger: Logger

    private struct State {
        var statistics = KafkaProducerStatistics()
        var failures: [KafkaFailedDelivery] = []
        var closed = false
    }

    /// State shared with the delivery-report callback and the poll thread.
    private final class Shared: Sendable {
        let state = Mutex(State())
        let stopPolling = Atomic<Bool>(false)
    }

    public init(configuration: KafkaProducerConfiguration, logger: Logger,
                onDelivery: (@Sendable (KafkaDeliveryReport) -> Void)? = nil) throws
    {
        let shared = Shared()
        let callbacks = RDKafkaCallbacks(logger: logger) { message in
            let report = KafkaProducer.report(from: message)
            let failure = report.error.map { KafkaProducer.failedDelivery(message, error: $0) }
            shared.state.withLock { state in
                if let failure {
                    state.statistics.failed += 1
                    state.failures.append(failure)
                } else {
                    state.statistics.delivered += 1
                }
            }
            onDelivery?(report)
        }
        self.client = try RDKafkaClient(type: .producer, properties: configuration.rdkafkaProperties,
                                        callbacks: callbacks)
        self.shared = shared
        self.configuration = configuration
        self.logger = logger
        let client = self.client
        self.pollThread = DedicatedThread(name: "kafka-producer-poll") {
            while !shared.stopPolling.load(ordering: .acquiring) {
                rd_kafka_poll(client.handle, 100)
            }
        }
        pollThread.start()
    }

    deinit {
        shared.stopPolling.store(true, ordering: .releasing)
        pollThread.join()
        client.destroy()
    }

    public var statistics: KafkaProducerStatistics { shared.state.withLock { $0.statistics } }

    /// Sends one message; the bytes are copied before this returns.
    public func send(topic: String, key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer,
                     headers: [KafkaHeader] = [], partition: Int32? = nil) throws
    {
        try produce(topic: topic, key: key, value: value, headers: headers, partition: partition)
    }

    /// Sends a message with a null value: a tombstone, which log compaction keeps only until it
    /// has removed the key's earlier records.
    public func sendTombstone(topic: String, key: [UInt8], headers: [KafkaHeader] = [], partition: Int32? = nil) throws {
        try key.withUnsafeBytes { keyBuffer in
            try produce(topic: topic, key: keyBuffer, value: nil, headers: headers, partition: partition)
        }
    }

    private func produce(topic: String, key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer?,
                         headers: [KafkaHeader], partition: Int32?) throws
    {
        if shared.state.withLock({ $0.closed }) {
            throw KafkaError(kind: .closed, message: "send on a closed producer")
        }
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: configuration.queueFullDeadline)
        while true {
            let code = produceOnce(topic: topic, key: key, value: value, headers: headers, partition: partition)
            if code == RD_KAFKA_RESP_ERR_NO_ERROR {
                shared.state.withLock { $0.statistics.sent += 1 }
                return
            }
            guard code == RD_KAFKA_RESP_ERR__QUEUE_FULL else {
                if code == RD_KAFKA_RESP_ERR__FATAL, let fatal = fatalError {
                    throw fatal
                }
                throw KafkaError.rdkafka(.produce, code, context: "producing \((value?.count ?? 0) + (key?.count ?? 0)) bytes to '\(topic)'")
            }
            if clock.now >= deadline {
                throw KafkaError(kind: .queueFull,
                                 message: "local queue stayed full for \(configuration.queueFullDeadline) while producing to '\(topic)'",
                                 responseCode: code.rawValue)
            }
            shared.state.withLock { $0.statistics.queueFullWaits += 1 }
            // The poll thread drains delivery reports; polling here too makes room sooner.
            rd_kafka_poll(client.handle, 10)
        }
    }

    public func send(topic: String, key: String?, value: [UInt8], headers: [KafkaHeader] = [],
                     partition: Int32? = nil) throws
    {
        let keyBytes = key.map { Array($0.utf8) }
        try value.withUnsafeBytes { valueBuffer in
            if let keyBytes {
                try keyBytes.withUnsafeBytes { keyBuffer in
                    try send(topic: topic, key: keyBuffer, value: valueBuffer, headers: headers, partition: partition)
                }
            } else {
                try send(topic: topic, key: nil, value: valueBuffer, headers: headers, partition: partition)
            }
        }
    }

    public func send(topic: String, key: String?, value: String, headers: [KafkaHeader] = [],
                     partition: Int32? = nil) throws
    {
        try send(topic: topic, key: key, value: Array(value.utf8), headers: headers, partition: partition)
    }

    /// Waits until every sent message has a delivery report. Throws when the wait times out or
    /// when any message failed since the previous flush (the failures are then forgotten); a
    /// caller that handles failures itself uses `flushCollectingFailures`.
    public func flush(timeout: Duration) throws {
        let failures = try flushCollectingFailures(timeout: timeout)
        if let first = failures.first {
            throw KafkaError(kind: .deliveryFailed,
                             message: "\(failures.count) message(s) could not be delivered; first: \(first.error.description)")
        }
    }

    /// Waits until every sent message has a delivery report, then hands over (and forgets) the
    /// messages that failed since the previous call, oldest first. Throws `flushTimedOut` when
    /// messages are still in flight after `timeout` (the failures so far stay for the next call),
    /// and the client's fatal error when it has one.
    public func flushCollectingFailures(timeout: Duration) throws -> [KafkaFailedDelivery] {
        let code = rd_kafka_flush(client.handle, Int32(timeout.milliseconds))
        if let fatal = fatalError { throw fatal }
        if code != RD_KAFKA_RESP_ERR_NO_ERROR {
            let inFlight = rd_kafka_outq_len(client.handle)
            throw KafkaError(kind: .flushTimedOut,
                             message: "\(inFlight) message(s) still in flight after \(timeout)",
                             responseCode: code.rawValue)
        }
        return takeFailures()
    }

    /// The failed messages reported since the last call, without waiting.
    public func takeFailures() -> [KafkaFailedDelivery] {
        shared.state.withLock { state in
            defer { state.failures.removeAll() }
            return state.failures
        }
    }

    /// The error that made the client unusable (idempotent producer state lost), if any: after
    /// it nothing more can be produced by this client.
    public var fatalError: KafkaError? {
        var buffer = [CChar](repeating: 0, count: 512)
        let code = rd_kafka_fatal_error(client.handle, &buffer, buffer.count)
        guard code != RD_KAFKA_RESP_ERR_NO_ERROR else { return nil }
        let reason = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return KafkaError(kind: .produce, message: "the producer failed for good: \(client.callbacks.redactor.redact(reason))",
                          responseCode: RD_KAFKA_RESP_ERR__FATAL.rawValue)
    }

    /// Flushes (bounded by `timeout`), then stops serving the handle. Later sends throw.
    public func close(timeout: Duration) throws {
        let alreadyClosed = shared.state.withLock { state in
            defer { state.closed = true }
            return state.closed
        }
        guard !alreadyClosed else { return }
        defer {
            shared.stopPolling.store(true, ordering: .releasing)
            pollThread.join()
        }
        try flush(timeout: timeout)
    }

    private func produceOnce(topic: String, key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer?,
                             headers: [KafkaHeader], partition: Int32?) -> rd_kafka_resp_err_t
    {
        var headerList: OpaquePointer?
        if !headers.isEmpty {
            headerList = rd_kafka_headers_new(headers.count)
            for header in headers {
                if let value = header.value {
                    value.withUnsafeBytes { bytes in
                        _ = rd_kafka_header_add(headerList, header.key, -1, bytes.baseAddress, bytes.count)
                    }
                } else {
                    _ = rd_kafka_header_add(headerList, header.key, -1, nil, 0)
                }
            }
        }
        let code: rd_kafka_resp_err_t = topic.withCString { topicName in
            var values = [rd_kafka_vu_t](repeating: rd_kafka_vu_t(), count: 6)
            var count = 0
            values[count].vtype = RD_KAFKA_VTYPE_TOPIC
            values[count].u.cstr = topicName
            count += 1
            // A nil pointer is a null value (a tombstone).
            values[count].vtype = RD_KAFKA_VTYPE_VALUE
            values[count].u.mem.ptr = value.flatMap { UnsafeMutableRawPointer(mutating: $0.baseAddress) }
            values[count].u.mem.size = value?.count ?? 0
            count += 1
            if let key {
                values[count].vtype = RD_KAFKA_VTYPE_KEY
                values[count].u.mem.ptr = UnsafeMutableRawPointer(mutating: key.baseAddress)
                values[count].u.mem.size = key.count
                count += 1
            }
            values[count].vtype = RD_KAFKA_VTYPE_MSGFLAGS
            values[count].u.i = RD_KAFKA_MSG_F_COPY
            count += 1
            if let partition {
                values[count].vtype = RD_KAFKA_VTYPE_PARTITION
                values[count].u.i32 = partition
                count += 1
            }
            if let headerList {
                values[count].vtype = RD_KAFKA_VTYPE_HEADERS
                values[count].u.headers = headerList
                count += 1
            }
            guard let error = rd_kafka_produceva(client.handle, &values, count) else {
                return RD_KAFKA_RESP_ERR_NO_ERROR
            }
            defer { rd_kafka_error_destroy(error) }
            return rd_kafka_error_code(error)
        }
        // On success librdkafka owns the header list; on failure it is still ours.
        if code != RD_KAFKA_RESP_ERR_NO_ERROR, let headerList {
            rd_kafka_headers_destroy(headerList)
        }
        return code
    }

    private static func failedDelivery(_ message: UnsafePointer<rd_kafka_message_t>, error: KafkaError) -> KafkaFailedDelivery {
        let topic = message.pointee.rkt.map { String(cString: rd_kafka_topic_name($0)) } ?? ""
        let key = message.pointee.key.map { Array(UnsafeRawBufferPointer(start: $0, count: message.pointee.key_len)) }
        let value = message.pointee.payload.map { Array(UnsafeRawBufferPointer(start: $0, count: message.pointee.len)) } ?? []
        let headers = KafkaMessage(pointer: UnsafeMutablePointer(mutating: message)).headers
        return KafkaFailedDelivery(topic: topic, key: key, value: value, headers: headers, error: error)
    }

    private static func report(from message: UnsafePointer<rd_kafka_message_t>) -> KafkaDeliveryReport {
        let topic = message.pointee.rkt.map { String(cString: rd_kafka_topic_name($0)) } ?? ""
        let error: KafkaError? = message.pointee.err == RD_KAFKA_RESP_ERR_NO_ERROR
            ? nil
            : KafkaError.rdkafka(.deliveryFailed, message.pointee.err, context: "delivery to '\(topic)'")
        let microseconds = rd_kafka_message_latency(message)
        return KafkaDeliveryReport(topicPartition: KafkaTopicPartition(topic: topic, partition: message.pointee.partition),
                                   offset: message.pointee.offset, error: error,
                                   latency: microseconds >= 0 ? .microseconds(microseconds) : nil)
    }
}

extension Duration {
    /// Whole milliseconds, clamped to Int32 for librdkafka timeouts.
    var milliseconds: Int {
        let (seconds, attoseconds) = components
        let total = seconds * 1000 + attoseconds / 1_000_000_000_000_000
        return Int(clamping: min(total, Int64(Int32.max)))
    }
}
