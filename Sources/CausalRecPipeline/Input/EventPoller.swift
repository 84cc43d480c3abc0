import Kafka

/// A consumer handler that also takes plain input messages — what an in-memory poller hands over
/// in tests (a `KafkaMessageBatch` exists only inside a real poll).
package protocol MessageBatchHandler: KafkaConsumerHandler {
    func consume<Messages: Sequence>(messages: Messages) throws where Messages.Element: InputMessage
}

/// What the poll loop needs of the consumer: subscribe, poll once, probe the broker, close (and,
/// as an `OffsetCommitter`, commit). A seam: the loop's order — polling, periodic checkpoints
/// and commits, the shutdown sequence — runs against an in-memory poller in tests.
package protocol EventPoller: OffsetCommitter {
    func subscribe(topics: [String]) throws
    /// Polls once, handing batches and rebalance events to `handler`; returns the messages handled.
    func pollOnce(timeout: Duration, handler: some MessageBatchHandler) throws -> Int
    /// Leaves the group (its revoke reaches `handler`) and releases the client.
    func close(handler: (any KafkaConsumerHandler)?) throws
    /// A cheap metadata request (nil: the topic does not exist).
    func topicMetadata(_ topic: String, timeout: Duration) throws -> KafkaTopicMetadata?
}

extension KafkaConsumer: EventPoller {
    package func pollOnce(timeout: Duration, handler: some MessageBatchHandler) throws -> Int {
        try poll(timeout: timeout, handler: handler)
    }
}
