@testable import CausalRecCore
import Testing

/// Instances that share items: each applies the events of its own users and publishes what it
/// changed of items; the others add it. The counts then are the stream's, the rows agree.
@Suite("Item sharing")
struct ItemSharingTests {
    static func configuration(sharing: Bool) -> RecommenderConfiguration {
        var configuration = RecommenderConfiguration()
        configuration.model.dimension = 8
        configuration.model.itemInitialization = .id
        configuration.trainingBatchSize = 8
        configuration.sharesItems = sharing
        return configuration
    }

    static func events(_ count: Int) -> [Event] {
        var simulatorConfiguration = SimulatorConfiguration()
        simulatorConfiguration.users = 60
        simulatorConfiguration.items = 80
        simulatorConfiguration.baseClickLogit = -1
        var simulator = ClickSimulator(configuration: simulatorConfiguration)
        return (0..<count).map { _ in simulator.next() }
    }

    @Test("two instances that exchange their item changes count every click and exposure once, and their item rows agree")
    func twoInstancesAgree() throws {
        let events = Self.events(6_000)
        let single = OnlineRecommender(configuration: Self.configuration(sharing: false))
        let instances = [OnlineRecommender(configuration: Self.configuration(sharing: true)),
                         OnlineRecommender(configuration: Self.configuration(sharing: true))]
        for (index, event) in events.enumerated() {
            single.step(event, fallbackTimestamp: 0)
            instances[Int(StableKey.of(event.user) % 2)].step(event, fallbackTimestamp: 0)
            if index % 500 == 499 { Self.exchange(instances) }
        }
        Self.exchange(instances)
        #expect(single.history.totalClicks > 500)
        for identifier in single.items.identifiers where single.items.row(for: identifier) != nil {
            let expected = single.history.clickCounts[Int(single.itemRow(ofKnown: identifier)!)]
            for instance in instances {
                let row = try #require(instance.itemRow(ofKnown: identifier))
                #expect(instance.history.clickCounts[Int(row)] == expected, "clicks of \(identifier)")
            }
            let rows = instances.map { $0.itemRow(ofKnown: identifier)! }
            let relative = rows.enumerated().map { instances[$0.offset].exposure.propensity(of: $0.element) }
            let singlePropensity = single.exposure.propensity(of: single.itemRow(ofKnown: identifier)!)
            for propensity in relative { #expect(abs(propensity - singlePropensity) <= 1e-9 + 1e-6 * singlePropensity) }
            let first = instances[0].model.items.values(of: rows[0])
            let second = instances[1].model.items.values(of: rows[1])
            for (a, b) in zip(first, second) { #expect(abs(a - b) <= 1e-5, "row of \(identifier)") }
            #expect(abs(instances[0].model.itemBias[Int(rows[0])] - instances[1].model.itemBias[Int(rows[1])]) <= 1e-5)
        }
        // Nothing is left to publish once both exchanged.
        #expect(instances.allSatisfy { $0.takeItemChanges().isEmpty })
    }

    @Test("changes whose publication failed are taken again by the next call, and a forget takes the user's clicks out of the counts")
    func returnedChangesAndForget() throws {
        let recommender = OnlineRecommender(configuration: Self.configuration(sharing: true))
        for index in 0..<20 {
            recommender.step(.click(Click(user: "u\(index % 3)", item: "i\(index % 5)", timestamp: 1_700_000_000_000 + Int64(index))), fallbackTimestamp: 0)
        }
        let first = recommender.takeItemChanges()
        #expect(first.items.map(\.clicks).reduce(0, +) == 20)
        recommender.returnItemChanges(first)
        let again = recommender.takeItemChanges()
        #expect(again.items.map(\.clicks).reduce(0, +) == 20)
        for (a, b) in zip(first.items.sorted { $0.item < $1.item }, again.items.sorted { $0.item < $1.item }) {
            #expect(a.item == b.item && a.embedding == b.embedding && a.bias == b.bias)
            #expect(abs(a.exposure - b.exposure) <= 1e-12 * max(1, a.exposure))
        }
        let clicksOfU0 = recommender.history.clicked(by: recommender.userRow(ofKnown: "u0")!).count
        recommender.step(.forget(ForgetRequest(user: "u0", timestamp: nil)), fallbackTimestamp: 1_700_000_000_500)
        #expect(recommender.takeItemChanges().items.map(\.clicks).reduce(0, +) == -Int32(clicksOfU0))
        // A re-read click another instance counted changes the user, not the counts.
        recommender.step(.click(Click(user: "u9", item: "i1", timestamp: 1_700_000_001_000)), fallbackTimestamp: 0, countsItems: false)
        #expect(recommender.takeItemChanges().items.allSatisfy { $0.clicks == 0 && $0.exposure == 0 })
        #expect(recommender.history.hasClicked(user: recommender.userRow(ofKnown: "u9")!, item: recommender.itemRow(ofKnown: "i1")!))
    }

    static func exchange(_ instances: [OnlineRecommender]) {
        let changes = instances.map { $0.takeItemChanges() }
        for (index, instance) in instances.enumerated() {
            for (other, change) in changes.enumerated() where other != index {
                instance.applyItemChanges(change)
                // A Lamport clock: past every version it has received.
                #expect(instance.modelVersion >= change.modelVersion)
            }
        }
    }

    @Test("with exposure counted from clicks until the first impression, a new instance whose first event is a click stops once another instance has seen one")
    func impressionsSeenByTheGroup() throws {
        let start: Int64 = 1_700_000_000_000
        let seen = OnlineRecommender(configuration: Self.configuration(sharing: true))
        #expect(seen.configuration.exposure.source == .auto)
        seen.step(.impression(Impression(user: "u1", items: ["i1", "i2"], timestamp: start)), fallbackTimestamp: 0)
        seen.step(.click(Click(user: "u1", item: "i1", timestamp: start + 1)), fallbackTimestamp: 0)
        let changes = seen.takeItemChanges()
        #expect(changes.impressionsSeen)
        // The click on i3 is a new instance's first event (its partition's position fell between
        // an impression and its clicks).
        func firstClickAfter(_ received: ItemChanges) throws -> (exposure: Double, published: Double) {
            let newcomer = OnlineRecommender(configuration: Self.configuration(sharing: true))
            newcomer.applyItemChanges(received)
            newcomer.step(.click(Click(user: "u2", item: "i3", timestamp: start + 2)), fallbackTimestamp: 0)
            let row = try #require(newcomer.itemRow(ofKnown: "i3"))
            let published = newcomer.takeItemChanges().items.filter { $0.item == "i3" }.reduce(0) { $0 + $1.exposure }
            return (newcomer.exposure.exposure(of: row, at: start + 2), published)
        }
        let informed = try firstClickAfter(changes)
        #expect(informed.exposure == 0 && informed.published == 0)
        // Negative control: changes that do not say impressions were seen (a writer before its
        // first impression) leave the newcomer counting its click as exposure.
        var silent = changes
        silent.impressionsSeen = false
        let uninformed = try firstClickAfter(silent)
        #expect(uninformed.exposure > 0 && uninformed.published > 0)
    }

    @Test("an instance steps after its share of the group's batch: a third of the partitions, a third of the positives")
    func trainingShare() {
        var configuration = Self.configuration(sharing: true)
        configuration.trainingBatchSize = 12
        configuration.recentPositivesPerPositive = 0
        let clicks = (0..<12).map { Event.click(Click(user: "u\($0)", item: "i\($0)", timestamp: Int64($0) * 1_000)) }
        func steps(owned: Int, of total: Int) -> [Int64] {
            let recommender = OnlineRecommender(configuration: configuration)
            recommender.setTrainingShare(owned: owned, of: total)
            return clicks.map { click in
                recommender.step(click, fallbackTimestamp: 0)
                return recommender.modelVersion
            }
        }
        // Two of six partitions: a step after every 4 positives.
        #expect(steps(owned: 2, of: 6) == [0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3])
        // Every partition: the whole batch, as one instance without sharing.
        #expect(steps(owned: 6, of: 6) == [Int64](repeating: 0, count: 11) + [1])
        // No partition left: one positive (none arrive).
        #expect(steps(owned: 0, of: 6) == Array(1...12).map(Int64.init))
    }
}
