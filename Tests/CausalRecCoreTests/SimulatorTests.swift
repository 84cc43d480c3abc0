import CausalRecCore
import Testing

@Suite("Click simulator")
struct SimulatorTests {
    @Test("same seed, same stream; only valid events")
    func deterministicAndValid() {
        var a = ClickSimulator(configuration: SimulatorConfiguration())
        var b = ClickSimulator(configuration: SimulatorConfiguration())
        let decoder = EventDecoder()
        var types: [String: Int] = [:]
        for _ in 0..<20_000 {
            let event = a.next()
            #expect(event == b.next())
            #expect((try? decoder.decode(EventEncoder.encode(event)).get()) == event)
            types[event.typeName, default: 0] += 1
        }
        #expect(types["impression", default: 0] > 10_000)
        #expect(types["click", default: 0] > 1_000)
        #expect(types["request", default: 0] > 100)
    }

    @Test("clicks happen only on exposed items, and the planted shift changes the exposure policy")
    func confoundingAndShift() {
        var configuration = SimulatorConfiguration()
        configuration.shiftAt = 10_000
        var simulator = ClickSimulator(configuration: configuration)
        var lastSlate: (user: String, items: Set<String>)?
        let before = (0..<configuration.items).map { simulator.exposureProbability(item: $0) }
        for _ in 0..<20_000 {
            switch simulator.next() {
            case let .impression(impression):
                lastSlate = (impression.user, Set(impression.items))
            case let .click(click):
                #expect(lastSlate?.user == click.user && lastSlate?.items.contains(click.item) == true)
            case .request, .forget:
                break
            }
        }
        #expect(simulator.shifted)
        let after = (0..<configuration.items).map { simulator.exposureProbability(item: $0) }
        #expect(before != after)
        #expect(abs(after.reduce(0, +) - 1) < 1e-9)
    }
}
