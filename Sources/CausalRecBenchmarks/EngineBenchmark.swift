import CAllocationCounter
import CausalRecCore

/// The per-event work of the service without Kafka, on one thread: decoding the simulator's
/// messages, and `StreamEngine.step` on the decoded events at the default configuration (random
/// sampler, drift monitor on, requests answered, clicks evaluated every 10th). Events per second and
/// heap allocations per event of each, measured after a warm-up stream of the same length.
public struct EngineBenchmark: Sendable {
    public var events: Int

    public init(events: Int = 200_000) {
        self.events = events
    }

    public func run() -> [BenchmarkRecord] {
        var simulator = ClickSimulator(configuration: SimulatorConfiguration())
        let payloads = (0..<(2 * events)).map { _ in EventEncoder.encode(simulator.next()) }
        let decoder = EventDecoder()
        var decoded: [Event] = []
        decoded.reserveCapacity(payloads.count)
        for payload in payloads.prefix(events) {
            if case let .success(event) = decoder.decode(payload) { decoded.append(event) }
        }
        let measuredPayloads = Array(payloads.suffix(events))
        var before = cac_allocation_count()
        let clock = ContinuousClock()
        let decodeTime = clock.measure {
            for payload in measuredPayloads {
                if case let .success(event) = decoder.decode(payload) { decoded.append(event) }
            }
        }
        let decodeAllocations = cac_allocation_count() - before

        let engine = StreamEngine(recommender: OnlineRecommender(configuration: RecommenderConfiguration()),
                                  drift: DriftConfiguration())
        var time: Int64 = 1_700_000_000_000
        for event in decoded.prefix(events) {
            time += 10
            engine.step(event, fallbackTimestamp: time)
        }
        let measured = decoded.suffix(events)
        before = cac_allocation_count()
        var answers = 0
        let stepTime = clock.measure {
            for event in measured {
                time += 10
                answers &+= engine.step(event, fallbackTimestamp: time).answers.count
            }
        }
        let stepAllocations = cac_allocation_count() - before
        precondition(answers >= 0)
        let count = Double(events)
        var records = [
            BenchmarkRecord(name: "engine.decode", value: count / decodeTime.inSeconds, unit: "events/s"),
            BenchmarkRecord(name: "engine.step", value: count / stepTime.inSeconds, unit: "events/s"),
        ]
        // Counted only under the preloaded interposer (bench/run.sh).
        if cac_allocation_counting() != 0 {
            records += [
                BenchmarkRecord(name: "engine.decode.allocations_per_event", value: Double(decodeAllocations) / count, unit: "heap allocations per event"),
                BenchmarkRecord(name: "engine.step.allocations_per_event", value: Double(stepAllocations) / count, unit: "heap allocations per event"),
            ]
        }
        return records
    }
}
