import CausalRecCore
import CausalRecTestSupport

/// The hand-over tests' simulator stream split by user into input partitions, as a keyed
/// producer would, and as input messages with a malformed message every 97th offset.
struct PartitionedStream: Sendable {
    let events: [Int32: [Event]]
    let messages: [Int32: [TestMessage]]

    /// The stream of `PartitionHandoverTests` (two partitions).
    static let two = PartitionedStream(events: PartitionHandoverTests.stream)
    /// The same events over four partitions.
    static let four = PartitionedStream(events: PartitionHandoverTests.makeStream(partitions: 4))

    init(events: [Int32: [Event]]) {
        self.events = events
        var messages: [Int32: [TestMessage]] = [:]
        for (partition, list) in events {
            var offset: Int64 = 0
            var partitionMessages: [TestMessage] = []
            for event in list {
                if offset % 97 == 96 {
                    partitionMessages.append(TestMessage(offset: offset, #"{"type":"click","user":"#, partition: partition))
                    offset += 1
                }
                partitionMessages.append(TestMessage(offset: offset, String(decoding: EventEncoder.encode(event), as: UTF8.self),
                                                     partition: partition))
                offset += 1
            }
            messages[partition] = partitionMessages
        }
        self.messages = messages
    }

    var partitions: [Int32] { events.keys.sorted() }

    func users(of partition: Int32) -> [String] {
        Array(Set(events[partition]!.map(\.user))).sorted()
    }

    /// Messages (malformed ones included) up to `share` of the partition.
    func length(_ partition: Int32, _ share: Double) -> Int { Int(Double(messages[partition]!.count) * share) }
}
