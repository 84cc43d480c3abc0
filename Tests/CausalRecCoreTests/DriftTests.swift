@testable import CausalRecCore
import Testing

@Suite("Drift detection: distances, Page-Hinkley, ADWIN and the monitor")
struct DriftTests {
    @Test("Jensen-Shannon distance: 0 for equal, 1 for disjoint, symmetric, scale-free")
    func jensenShannon() {
        #expect(DistributionDistance.jensenShannon([1, 2, 3], [2, 4, 6]) < 1e-12)
        #expect(abs(DistributionDistance.jensenShannon([1, 0], [0, 1]) - 1) < 1e-12)
        let a = [5.0, 1, 0, 2], b = [1.0, 1, 3, 0]
        #expect(abs(DistributionDistance.jensenShannon(a, b) - DistributionDistance.jensenShannon(b, a)) < 1e-12)
        // Hand-computed: p = (1/2, 1/2), q = (1, 0): m = (3/4, 1/4);
        // JSD = ½[½log2(2/3) + ½log2(2)] + ½[log2(4/3)] = 0.311278; distance = 0.557921.
        #expect(abs(DistributionDistance.jensenShannon([1, 1], [1, 0]) - 0.557_921) < 1e-5)
    }

    @Test("PSI: 0 for equal shares, the textbook value for a known shift")
    func populationStability() {
        #expect(DistributionDistance.populationStability(reference: [10, 20, 70], current: [1, 2, 7]) < 1e-12)
        // (0.3−0.5)·ln(0.3/0.5) + (0.7−0.5)·ln(0.7/0.5) = 0.102165 + 0.067294 = 0.169459
        #expect(abs(DistributionDistance.populationStability(reference: [1, 1], current: [3, 7]) - 0.169_459) < 1e-5)
    }

    @Test("Page-Hinkley: quiet on a stationary stream, fires after a fall, never on a rise")
    func pageHinkley() {
        var generator = Xoshiro256(seed: 7)
        let defaults = DriftConfiguration()
        var detector = PageHinkley(delta: defaults.pageHinkleyDelta, lambda: defaults.pageHinkleyLambda, minimumSamples: 30)
        var falseAlarms = 0
        for _ in 0..<20_000 where detector.add(generator.nextUnitDouble() < 0.3 ? 1 : 0) { falseAlarms += 1 }
        #expect(falseAlarms == 0)
        var fellAt: Int?
        for index in 0..<5_000 where fellAt == nil {
            if detector.add(generator.nextUnitDouble() < 0.1 ? 1 : 0) { fellAt = index }
        }
        #expect(fellAt != nil && fellAt! < 1_000, "detected after \(fellAt ?? -1) samples")
        var rising = PageHinkley(delta: defaults.pageHinkleyDelta, lambda: defaults.pageHinkleyLambda, minimumSamples: 30)
        for _ in 0..<5_000 { _ = rising.add(generator.nextUnitDouble() < 0.1 ? 1 : 0) }
        var risingAlarm = false
        for _ in 0..<10_000 where rising.add(generator.nextUnitDouble() < 0.6 ? 1 : 0) { risingAlarm = true }
        #expect(!risingAlarm)
    }

    @Test("ADWIN: no cut on a stationary stream, a fall is found with the older mean above the newer")
    func adwin() {
        var generator = Xoshiro256(seed: 11)
        var window = AdaptiveWindow(delta: 0.002)
        var cuts = 0
        for _ in 0..<20_000 where window.add(generator.nextUnitDouble() < 0.3 ? 1 : 0) != nil { cuts += 1 }
        #expect(cuts == 0)
        var fall: AdaptiveWindow.Fall?
        var samples = 0
        while fall == nil && samples < 10_000 {
            fall = window.add(generator.nextUnitDouble() < 0.05 ? 1 : 0)
            samples += 1
        }
        let found = try! #require(fall)
        #expect(found.olderMean > found.newerMean)
        #expect(samples < 2_000, "cut after \(samples) samples")
    }

    static func monitorRun(shiftAt: Int?, events: Int, window: Int) -> (alerts: [DriftAlert], monitor: DriftMonitor) {
        var simulatorConfiguration = SimulatorConfiguration()
        simulatorConfiguration.shiftAt = shiftAt
        var simulator = ClickSimulator(configuration: simulatorConfiguration)
        var configuration = RecommenderConfiguration()
        configuration.evaluateEveryNthClick = 0
        var drift = DriftConfiguration()
        drift.windowEvents = window
        drift.warmupEvents = window
        drift.cooldownEvents = 4 * window
        let engine = StreamEngine(recommender: OnlineRecommender(configuration: configuration), drift: drift)
        var alerts: [DriftAlert] = []
        for _ in 0..<events {
            alerts += engine.step(simulator.next(), fallbackTimestamp: 0).alerts
        }
        return (alerts, engine.drift!)
    }

    @Test("the monitor: no alert without a shift; an exposure alert in the first window after a planted one")
    func monitorOnTheSimulator() {
        let quiet = Self.monitorRun(shiftAt: nil, events: 120_000, window: 10_000)
        #expect(quiet.alerts.isEmpty, "\(quiet.alerts)")
        #expect(quiet.monitor.history.count >= 9)
        let shifted = Self.monitorRun(shiftAt: 60_000, events: 120_000, window: 10_000)
        let first = shifted.alerts.first
        #expect(first != nil && first!.eventIndex > 60_000 && first!.eventIndex <= 70_000, "\(shifted.alerts)")
        #expect(first?.metric.hasPrefix("exposure") == true)
    }

    @Test("the monitor's state restores bitwise")
    func monitorState() throws {
        let run = Self.monitorRun(shiftAt: nil, events: 25_000, window: 5_000)
        var writer = StateWriter()
        run.monitor.writeState(to: &writer)
        let copy = DriftMonitor(configuration: run.monitor.configuration)
        var reader = StateReader(writer.bytes)
        try copy.readState(from: &reader)
        var again = StateWriter()
        copy.writeState(to: &again)
        #expect(again.bytes == writer.bytes)
    }
}
