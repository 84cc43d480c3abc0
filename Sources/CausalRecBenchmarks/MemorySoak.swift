import CausalRecCore
import Foundation

/// A long simulator stream with churning users and items through one recommender, reporting the
/// process's resident memory as it goes: with retention on, the state (and RSS) must level off;
/// without, it grows with every new id.
public struct MemorySoak {
    public struct Sample: Sendable {
        public var events: Int
        public var residentMegabytes: Double
        public var userRows: Int
        public var itemRows: Int
        public var activeUsers: Int
        public var activeItems: Int
        public var evictedUsers: Int
        public var evictedItems: Int
        public var seconds: Double
    }

    public var events: Int
    public var churnEvery: Int
    public var reportEvery: Int
    public var recommender: RecommenderConfiguration

    public init(events: Int, churnEvery: Int, reportEvery: Int, recommender: RecommenderConfiguration) {
        self.events = events
        self.churnEvery = churnEvery
        self.reportEvery = reportEvery
        self.recommender = recommender
    }

    /// VmRSS of this process, from /proc (Linux); 0 where unavailable.
    public static func residentMegabytes() -> Double {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") })
        else { return 0 }
        let kilobytes = line.split(separator: " ").compactMap { Double($0) }.first ?? 0
        return kilobytes / 1_024
    }

    public func run(report: (Sample) -> Void) {
        var simulatorConfiguration = SimulatorConfiguration()
        simulatorConfiguration.churnEvery = churnEvery
        var simulator = ClickSimulator(configuration: simulatorConfiguration)
        let model = OnlineRecommender(configuration: recommender)
        let engine = StreamEngine(recommender: model)
        let started = ContinuousClock.now
        for index in 1...events {
            let event = simulator.next()
            engine.step(event, fallbackTimestamp: 0)
            if index % reportEvery == 0 || index == events {
                let elapsed = ContinuousClock.now - started
                report(Sample(events: index, residentMegabytes: Self.residentMegabytes(), userRows: model.model.userCount,
                              itemRows: model.model.itemCount, activeUsers: model.activeUsers, activeItems: model.activeItems,
                              evictedUsers: model.retention.evictedUsers, evictedItems: model.retention.evictedItems,
                              seconds: elapsed.inSeconds))
            }
        }
    }
}
