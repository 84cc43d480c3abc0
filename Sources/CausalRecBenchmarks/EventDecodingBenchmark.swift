import CausalRecCore
import Foundation

/// Event decoding throughput: our byte-level decoder against Foundation's `JSONDecoder` with a
/// Codable mirror of the schema, on the same simulator messages, in the same run. This is the
/// measurement behind decoding without `JSONDecoder` on the hot path.
public struct EventDecodingBenchmark: Sendable {
    public var messages: Int
    public var rounds: Int

    public init(messages: Int = 100_000, rounds: Int = 3) {
        self.messages = messages
        self.rounds = rounds
    }

    /// The schema as a Codable type, for the reference decoder.
    struct CodableEvent: Decodable {
        var type: String
        var user: String
        var item: String?
        var items: [String]?
        var ts: Int64?
        var k: Int?
        var context: String?
        var position: Int?
    }

    public func run() -> [BenchmarkRecord] {
        var simulator = ClickSimulator(configuration: SimulatorConfiguration())
        let payloads = (0..<messages).map { _ in EventEncoder.encode(simulator.next()) }
        let datas = payloads.map { Data($0) }
        let decoder = EventDecoder()
        let jsonDecoder = JSONDecoder()
        var ours = 0.0, reference = 0.0
        var checksum = 0
        for _ in 0..<rounds {
            ours = max(ours, Self.rate(messages) {
                for payload in payloads {
                    if case let .success(event) = decoder.decode(payload) { checksum &+= event.user.utf8.count }
                }
            })
            reference = max(reference, Self.rate(messages) {
                for data in datas {
                    if let event = try? jsonDecoder.decode(CodableEvent.self, from: data) { checksum &+= event.user.utf8.count }
                }
            })
        }
        precondition(checksum != 0)
        return [BenchmarkRecord(name: "decode.events", value: ours, unit: "events/s", reference: reference,
                                referenceName: "Foundation JSONDecoder (Codable), same messages")]
    }

    /// Best-of-rounds throughput of `body` processing `count` items.
    static func rate(_ count: Int, _ body: () -> Void) -> Double {
        let clock = ContinuousClock()
        let elapsed = clock.measure(body)
        let seconds = elapsed.inSeconds
        return Double(count) / seconds
    }
}
