import CausalRecCore
import CausalRecTestSupport
@testable import CausalRecPipeline
import Foundation
import Kafka
import KafkaTestSupport
import Testing

/// The users' changelog on a real broker: explicit partitions, stamps in headers, tombstones as
/// null values, reads that end at the end of the partition.
@Suite("The users' changelog on a real broker (KAFKA_BOOTSTRAP)", .serialized, .enabled(if: RealBroker.bootstrap != nil, "KAFKA_BOOTSTRAP is not set"))
struct ChangelogOnBrokerTests {
    var bootstrap: String { RealBroker.bootstrap! }

    func changelog(partitions: Int) throws -> (KafkaChangelog, KafkaProducer) {
        let topic = TestKafka.uniqueName("users-changelog")
        let admin = try KafkaAdmin(bootstrapServers: bootstrap, logger: TestKafka.logger)
        try admin.createTopics([KafkaTopicSpecification(name: topic, partitions: partitions)], timeout: .seconds(30))
        let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(bootstrapServers: bootstrap), logger: TestKafka.logger)
        return (KafkaChangelog(topic: topic, bootstrapServers: bootstrap, properties: [:], producer: producer, logger: TestKafka.logger), producer)
    }

    @Test("records come back from their partition as written: keys, values, null values and stamps")
    func roundTrip() throws {
        let (log, producer) = try changelog(partitions: 2)
        defer { try? producer.close(timeout: .seconds(10)) }
        let users = SampleUsers.records(["alice", "bob"])
        var applied = AppliedEventCounts()
        applied.clicks = 3
        let written = [
            ChangelogRecord(.claim(instance: "A"), stamp: .init(epoch: 1, position: 0)),
            ChangelogRecord(.user(users[0]), stamp: .init(epoch: 1, position: 40)),
            ChangelogRecord(.user(users[1]), stamp: .init(epoch: 1, position: 40)),
            ChangelogRecord(.userRemoved("carol"), stamp: .init(epoch: 1, position: 40)),
            ChangelogRecord(.meta(PartitionMeta(instance: "A", applied: applied)), stamp: .init(epoch: 1, position: 40)),
        ]
        try log.append(written, partition: 1)
        var read: [ChangelogRecord] = []
        let end = try log.read(partition: 1, from: 0) { read.append($0) }
        #expect(read == written)
        #expect(end == Int64(written.count))
        var fromTwo: [ChangelogRecord] = []
        try log.read(partition: 1, from: 2) { fromTwo.append($0) }
        #expect(fromTwo == Array(written.dropFirst(2)))
        var other: [ChangelogRecord] = []
        #expect(try log.read(partition: 0, from: 0) { other.append($0) } == 0)
        #expect(other.isEmpty)
    }

    @Test("a partition handed over through the broker: the next owner restores the users and claims a higher epoch")
    func handover() throws {
        let (log, producer) = try changelog(partitions: 2)
        defer { try? producer.close(timeout: .seconds(10)) }
        let users = SampleUsers.records(["alice", "bob", "carol"])
        var configuration = RecommenderConfiguration()
        configuration.model.dimension = SampleUsers.dimension
        let old = OnlineRecommender(configuration: configuration)
        old.importUsers(users)
        let a = PartitionHandover(instance: "A", log: log, dimension: SampleUsers.dimension)
        #expect(try a.claim(partition: 1).epoch == 1)
        var applied = AppliedEventCounts()
        applied.clicks = 9
        try a.flush(partition: 1, position: 120, changed: ["alice", "bob", "carol", "dave"], applied: applied, recommender: old)
        let b = PartitionHandover(instance: "B", log: log, dimension: SampleUsers.dimension)
        let restored = try b.claim(partition: 1)
        #expect(restored.epoch == 2 && restored.inputPosition == 120 && restored.applied == applied)
        #expect(restored.users.map(\.record) == users && restored.users.allSatisfy { $0.position == 120 })
        #expect(restored.refusedRecords == 0 && restored.zombieRecords == 0)
    }
}
