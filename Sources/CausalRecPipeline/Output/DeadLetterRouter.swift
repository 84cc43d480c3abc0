import Kafka

/// Sends a message that is not a valid event to the dead-letter topic (`DeadLetterRecord`: the
/// message unchanged, or a bounded prefix with its digest when it is too large to copy), with
/// headers saying why and where it came from, so nothing is lost and the stream goes on.
final class DeadLetterRouter {
    private let sender: OutputSender
    let topic: String

    init(sender: OutputSender, topic: String) {
        self.sender = sender
        self.topic = topic
    }

    func route(_ message: some InputMessage, reason: String) throws {
        let record = message.withBytes { key, payload in
            DeadLetterRecord.make(key: key, payload: payload, reason: reason, sourceTopic: message.topic,
                                  sourcePartition: message.partition, sourceOffset: message.offset, limits: sender.deadLetterLimits)
        }
        try sender.send(.deadLetter, topic: topic, key: record.key, value: record.value, headers: record.headers,
                        context: "input partition \(message.partition) offset \(message.offset)")
    }
}
