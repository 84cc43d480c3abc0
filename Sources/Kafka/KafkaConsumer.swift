import CRdKafka
import Logging
import Synchronization

/// A Kafka consumer that hands messages to a `KafkaConsumerHandler` in batches.
///
/// `poll` blocks (it waits in librdkafka), so call it from a dedicated thread such as a
/// `DedicatedThread`, never from Swift's cooperative pool. One thread polls at a time; the other
/// methods may be called from the polling thread (including from inside handler callbacks) or
/// between polls.
///
/// Messages are fetched one by one from librdkafka (`rd_kafka_consumer_poll`, ~1M/s here) and
/// handed over as one batch of up to `maxBatchSize`, so the per-message cost on the Swift side is
/// a pointer store. Rebalance callbacks fire inside librdkafka's poll; before a revocation is
/// passed on, the messages already fetched are handed over, so the handler's revoke hook always
/// sees a consumer that has delivered everything it fetched from those partitions.
public final class KafkaConsumer: @unchecked Sendable {
    public let maxBatchSize: Int
    private let client: RDKafkaClient
    private let logger: Logger
    private let lifecycle = Mutex(KafkaConsumerStateMachine())

    // Owned by the polling thread between `startPoll` and `finishPoll` (or during `close`).
    private let pending: UnsafeMutablePointer<UnsafeMutablePointer<rd_kafka_message_t>>
    private var pendingCount = 0
    private var handler: (any KafkaConsumerHandler)?
    private var deferredError: (any Error)?
    private var deliveredInCallbacks = 0
    /// Set when `consume` threw during this poll: no later batch is handed over (see `poll`).
    private var handlerFailed = false

    public init(configuration: KafkaConsumerConfiguration, logger: Logger, maxBatchSize: Int = 1000) throws {
        precondition(maxBatchSize > 0, "maxBatchSize must be positive")
        self.maxBatchSize = maxBatchSize
        self.logger = logger
        let callbacks = RDKafkaCallbacks(logger: logger)
        self.client = try RDKafkaClient(type: .consumer, properties: configuration.rdkafkaProperties, callbacks: callbacks)
        self.pending = .allocate(capacity: maxBatchSize)
        // Route the main queue (errors, logs) into the consumer queue so one poll serves all.
        rd_kafka_poll_set_consumer(client.handle)
        callbacks.rebalance = { [unowned self] code, list in
            self.rebalance(code, list)
        }
    }

    deinit {
        // Revocations during an implicit close must not call back into a deallocating object.
        client.callbacks.rebalance = nil
        if lifecycle.withLock({ $0.close() }) == .close {
            rd_kafka_consumer_close(client.handle)
        }
        client.destroy()
        pending.deallocate()
    }

    // MARK: Group membership and assignment

    public func subscribe(topics: [String]) throws {
        let list = RDKafkaTopicPartitionList.make(topics.map {
            KafkaTopicPartitionOffset(topic: $0, partition: RD_KAFKA_PARTITION_UA, offset: KafkaOffset.invalid)
        })
        defer { rd_kafka_topic_partition_list_destroy(list) }
        let code = rd_kafka_subscribe(client.handle, list)
        guard code == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError.rdkafka(.subscription, code, context: "subscribing to \(topics)")
        }
    }

    /// Manual assignment (no group): read exactly these partitions from these offsets.
    public func assign(_ partitions: [KafkaTopicPartitionOffset]) throws {
        let list = RDKafkaTopicPartitionList.make(partitions)
        defer { rd_kafka_topic_partition_list_destroy(list) }
        let code = rd_kafka_assign(client.handle, list)
        guard code == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError.rdkafka(.assignment, code, context: "assigning \(partitions)")
        }
    }

    /// Moves the fetch position of assigned partitions.
    public func seek(_ offsets: [KafkaTopicPartitionOffset], timeout: Duration) throws {
        let list = RDKafkaTopicPartitionList.make(offsets)
        defer { rd_kafka_topic_partition_list_destroy(list) }
        if let error = rd_kafka_seek_partitions(client.handle, list, Int32(timeout.milliseconds)) {
            throw KafkaError.consuming(error, kind: .seek, context: "seeking \(offsets)")
        }
        if let (partition, code) = RDKafkaTopicPartitionList.firstError(list) {
            throw KafkaError.rdkafka(.seek, code, context: "seeking \(partition)")
        }
    }

    /// The earliest offset whose timestamp is at or after `timestamp` (epoch ms) in each partition;
    /// `KafkaOffset.end` where no such message exists yet.
    public func offsets(forTimestamp timestamp: Int64, partitions: [KafkaTopicPartition],
                        timeout: Duration) throws -> [KafkaTopicPartitionOffset]
    {
        let list = RDKafkaTopicPartitionList.make(partitions, offset: timestamp)
        defer { rd_kafka_topic_partition_list_destroy(list) }
        let code = rd_kafka_offsets_for_times(client.handle, list, Int32(timeout.milliseconds))
        guard code == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError.rdkafka(.offsetsLookup, code, context: "looking up offsets for timestamp \(timestamp)")
        }
        if let (partition, code) = RDKafkaTopicPartitionList.firstError(list) {
            throw KafkaError.rdkafka(.offsetsLookup, code, context: "looking up the timestamp offset of \(partition)")
        }
        return RDKafkaTopicPartitionList.entries(list)
    }

    public func pause(_ partitions: [KafkaTopicPartition]) throws {
        try changePause(partitions, pause: true)
    }

    public func resume(_ partitions: [KafkaTopicPartition]) throws {
        try changePause(partitions, pause: false)
    }

    private func changePause(_ partitions: [KafkaTopicPartition], pause: Bool) throws {
        let list = RDKafkaTopicPartitionList.make(partitions)
        defer { rd_kafka_topic_partition_list_destroy(list) }
        let code = pause ? rd_kafka_pause_partitions(client.handle, list) : rd_kafka_resume_partitions(client.handle, list)
        guard code == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError.rdkafka(.assignment, code, context: pause ? "pausing" : "resuming")
        }
    }

    // MARK: Offsets

    /// Commits synchronously. Each offset is the *next* one to read (last processed + 1).
    public func commit(_ offsets: [KafkaTopicPartitionOffset]) throws {
        guard !offsets.isEmpty else { return }
        let list = RDKafkaTopicPartitionList.make(offsets)
        defer { rd_kafka_topic_partition_list_destroy(list) }
        let code = rd_kafka_commit(client.handle, list, 0)
        guard code == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError.rdkafka(.commit, code, context: "committing \(offsets)")
        }
        if let (partition, code) = RDKafkaTopicPartitionList.firstError(list) {
            throw KafkaError.rdkafka(.commit, code, context: "committing \(partition)")
        }
    }

    /// The group's committed offsets (`KafkaOffset.invalid` where none).
    public func committed(_ partitions: [KafkaTopicPartition], timeout: Duration) throws -> [KafkaTopicPartitionOffset] {
        let list = RDKafkaTopicPartitionList.make(partitions)
        defer { rd_kafka_topic_partition_list_destroy(list) }
        let code = rd_kafka_committed(client.handle, list, Int32(timeout.milliseconds))
        guard code == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError.rdkafka(.commit, code, context: "reading committed offsets")
        }
        return RDKafkaTopicPartitionList.entries(list)
    }

    /// The last known high watermark (end offset) from fetch responses; no broker round trip.
    public func cachedHighWatermark(_ partition: KafkaTopicPartition) -> Int64? {
        var low: Int64 = -1
        var high: Int64 = -1
        let code = rd_kafka_get_watermark_offsets(client.handle, partition.topic, partition.partition, &low, &high)
        return code == RD_KAFKA_RESP_ERR_NO_ERROR && high >= 0 ? high : nil
    }

    /// Asks the partition leader for the low and high watermarks (blocking).
    public func queryWatermarks(_ partition: KafkaTopicPartition, timeout: Duration) throws -> (low: Int64, high: Int64) {
        var low: Int64 = -1
        var high: Int64 = -1
        let code = rd_kafka_query_watermark_offsets(client.handle, partition.topic, partition.partition,
                                                    &low, &high, Int32(timeout.milliseconds))
        guard code == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError.rdkafka(.offsetsLookup, code, context: "querying watermarks of \(partition)")
        }
        return (low, high)
    }

    public func topicMetadata(_ topic: String, timeout: Duration) throws -> KafkaTopicMetadata? {
        try RDKafkaMetadata.topics(client.handle, only: topic, timeout: timeout).first { $0.name == topic }
    }

    /// The cluster id the brokers report (blocking up to `timeout`), or nil when none answered.
    public func clusterID(timeout: Duration) -> String? {
        guard let pointer = rd_kafka_clusterid(client.handle, Int32(timeout.milliseconds)) else { return nil }
        defer { rd_kafka_mem_free(client.handle, pointer) }
        return String(cString: pointer)
    }

    // MARK: Polling

    /// Waits up to `timeout` for messages and hands everything available (up to `maxBatchSize`)
    /// to `handler` as one batch. Also serves rebalances and errors through `handler`.
    /// Returns the number of messages handed over. Errors thrown by the handler are rethrown
    /// here, after the consumer's bookkeeping is complete. Once `consume` has thrown, this poll
    /// hands over no later batch and fetches nothing more: messages after the failed one would
    /// otherwise be applied past a gap. The ones fetched but not handed over are dropped, so the
    /// caller stops (or seeks back) and resumes from its last recorded position.
    @discardableResult
    public func poll(timeout: Duration, handler: some KafkaConsumerHandler) throws -> Int {
        switch lifecycle.withLock({ $0.startPoll() }) {
        case .poll: break
        case .throwClosed: throw KafkaError(kind: .closed, message: "poll on a closed consumer")
        case .throwConcurrentPoll: throw KafkaError(kind: .consume, message: "poll called while another poll is running")
        }
        defer { lifecycle.withLock { $0.finishPoll() } }
        self.handler = handler
        defer { self.handler = nil }
        deliveredInCallbacks = 0
        handlerFailed = false

        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        while pendingCount < maxBatchSize && !handlerFailed {
            let wait = pendingCount == 0 ? max(0, (deadline - clock.now).milliseconds) : 0
            guard let message = rd_kafka_consumer_poll(client.handle, Int32(wait)) else {
                if pendingCount == 0 && clock.now < deadline { continue }
                break
            }
            if message.pointee.err != RD_KAFKA_RESP_ERR_NO_ERROR {
                // Messages fetched before this event go to the handler first, so it sees a
                // partition's end (or an error) after everything that came before it.
                deliveredInCallbacks += deliverPending()
                report(errorMessage: message)
                rd_kafka_message_destroy(message)
                continue
            }
            pending[pendingCount] = message
            pendingCount += 1
        }
        let delivered = deliverPending() + deliveredInCallbacks
        if let error = deferredError {
            deferredError = nil
            throw error
        }
        return delivered
    }

    /// Leaves the group (running the revoke hook of `handler` for the current assignment) and
    /// stops fetching. Idempotent.
    public func close(handler: (any KafkaConsumerHandler)? = nil) throws {
        switch lifecycle.withLock({ $0.close() }) {
        case .alreadyClosed: return
        case .throwWhilePolling:
            throw KafkaError(kind: .closed, message: "close called while a poll is running")
        case .close: break
        }
        self.handler = handler
        defer { self.handler = nil }
        let code = rd_kafka_consumer_close(client.handle)
        if let error = deferredError {
            deferredError = nil
            throw error
        }
        guard code == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError.rdkafka(.closed, code, context: "closing the consumer")
        }
    }

    private func deliverPending() -> Int {
        let count = pendingCount
        guard count > 0 else { return 0 }
        defer {
            for index in 0..<count {
                rd_kafka_message_destroy(pending[index])
            }
            pendingCount = 0
        }
        guard !handlerFailed else { return 0 }
        let batch = KafkaMessageBatch(messages: UnsafeBufferPointer(start: pending, count: count))
        do {
            try handler?.consume(batch)
        } catch {
            handlerFailed = true
            if deferredError == nil { deferredError = error }
        }
        return count
    }

    private func report(errorMessage message: UnsafeMutablePointer<rd_kafka_message_t>) {
        let code = message.pointee.err
        let view = KafkaMessage(pointer: message)
        if code == RD_KAFKA_RESP_ERR__PARTITION_EOF {
            handler?.partitionReachedEnd(view.topicPartition, offset: view.offset)
            return
        }
        let text: String
        if let payload = message.pointee.payload {
            text = String(decoding: UnsafeRawBufferPointer(start: payload, count: message.pointee.len), as: UTF8.self)
        } else {
            text = String(cString: rd_kafka_err2str(code))
        }
        let error = KafkaError(kind: .consume, message: text, responseCode: code.rawValue)
        if code == RD_KAFKA_RESP_ERR__FATAL {
            if deferredError == nil { deferredError = error }
        }
        handler?.consumerError(error)
    }

    private func rebalance(_ code: rd_kafka_resp_err_t, _ list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>) {
        let partitions = RDKafkaTopicPartitionList.entries(list).map(\.topicPartition)
        let cooperative = client.usesCooperativeRebalancing
        switch code {
        case RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS:
            logger.debug("partitions assigned", metadata: ["partitions": "\(partitions)"])
            if let handler {
                let starts = handler.partitionsAssigned(partitions)
                for index in 0..<Int(list.pointee.cnt) {
                    let element = list.pointee.elems[index]
                    let key = KafkaTopicPartition(topic: String(cString: element.topic), partition: element.partition)
                    if let start = starts[key] { list.pointee.elems[index].offset = start }
                }
            }
            if cooperative {
                if let error = rd_kafka_incremental_assign(client.handle, list) {
                    logger.warning("incremental assign failed: \(KafkaError.consuming(error, kind: .assignment, context: "assign"))")
                }
            } else {
                let result = rd_kafka_assign(client.handle, list)
                if result != RD_KAFKA_RESP_ERR_NO_ERROR {
                    logger.warning("assign failed: \(String(cString: rd_kafka_err2str(result)))")
                }
            }
        case RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS:
            logger.debug("partitions revoked", metadata: ["partitions": "\(partitions)"])
            // Hand over what was already fetched before the owner gives the partitions up.
            deliveredInCallbacks += deliverPending()
            handler?.partitionsWillBeRevoked(partitions, lost: rd_kafka_assignment_lost(client.handle) != 0)
            if cooperative {
                if let error = rd_kafka_incremental_unassign(client.handle, list) {
                    logger.warning("incremental unassign failed: \(KafkaError.consuming(error, kind: .assignment, context: "unassign"))")
                }
            } else {
                rd_kafka_assign(client.handle, nil)
            }
        default:
            logger.warning("rebalance error: \(String(cString: rd_kafka_err2str(code)))")
            rd_kafka_assign(client.handle, nil)
        }
    }
}
