import CausalRecCore

/// Ground truth for the demo's summary. While events are produced it notes, for every
/// request, how good the most-popular list (click counts so far) would have been by the
/// simulator's true click probabilities; afterwards it scores the lists the service actually
/// published the same way.
final class DemoTruthTracker: @unchecked Sendable {
    struct RequestRecord {
        var eventIndex: Int
        var popularTruth: Double
    }

    private let truth: ClickSimulator
    private let k: Int
    private var clickCounts: [Int]
    private var clicked: [Set<Int>]
    private(set) var requests: [String: RequestRecord] = [:]
    private(set) var eventsSeen = 0

    init(simulatorConfiguration: SimulatorConfiguration, k: Int) {
        // A second simulator with the same seed has the same true preferences; it is only asked
        // about them, never advanced.
        truth = ClickSimulator(configuration: simulatorConfiguration)
        self.k = k
        clickCounts = [Int](repeating: 0, count: simulatorConfiguration.items)
        clicked = [Set<Int>](repeating: [], count: simulatorConfiguration.users)
    }

    static func key(user: String, timestamp: Int64) -> String { "\(user)|\(timestamp)" }

    func observe(_ event: Event) {
        defer { eventsSeen += 1 }
        switch event {
        case let .click(click):
            guard let user = ClickSimulator.index(of: click.user), let item = ClickSimulator.index(of: click.item) else { return }
            clickCounts[item] += 1
            clicked[user].insert(item)
        case let .request(request):
            guard let user = ClickSimulator.index(of: request.user), let timestamp = request.timestamp else { return }
            var selector = TopKSelector<Int>(capacity: k)
            for item in clickCounts.indices where !clicked[user].contains(item) {
                selector.offer(score: clickCounts[item], item: Int32(item))
            }
            let items = selector.sortedDescending().map { Int($0.item) }
            requests[Self.key(user: request.user, timestamp: timestamp)] =
                RequestRecord(eventIndex: eventsSeen, popularTruth: meanTruth(user: user, items: items))
        case .impression, .forget:
            break
        }
    }

    /// Mean true click probability of `items` for `user` (the expected CTR of the list).
    func meanTruth(user: Int, items: [Int]) -> Double {
        guard !items.isEmpty else { return 0 }
        return items.map { truth.trueClickProbability(user: user, item: $0) }.reduce(0, +) / Double(items.count)
    }
}
