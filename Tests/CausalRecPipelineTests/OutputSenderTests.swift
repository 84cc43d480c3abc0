import CausalRecCore
@testable import CausalRecPipeline
import Foundation
import Kafka
import KafkaTestSupport
import Logging
import Synchronization
import CausalRecTestSupport
import Testing

@Suite("Outputs that cannot be produced")
struct OutputSenderTests {
    static let topics = PipelineConfiguration.Topics()

    static func sender(_ producer: ScriptedProducer, limits: DeadLetterRecord.Limits = .init()) -> (OutputSender, ServiceMetrics, CapturingLogHandler) {
        let metrics = ServiceMetrics()
        let log = CapturingLogHandler()
        let sender = OutputSender(producer: producer, topics: topics, deadLetterLimits: limits, metrics: metrics,
                                  logger: Logger(label: "out") { _ in log })
        return (sender, metrics, log)
    }

    static func metric(_ metrics: ServiceMetrics, _ output: String, _ action: String) -> Int {
        let text = String(decoding: metrics.exposition(), as: UTF8.self)
        let prefix = #"causalrec_output_failures_total{output="\#(output)",action="\#(action)"} "#
        return text.split(separator: "\n").first { $0.hasPrefix(prefix) }.flatMap { Int($0.dropFirst(prefix.count)) } ?? 0
    }

    static func header(_ record: ScriptedProducer.Sent, _ key: String) -> String? {
        record.headers.first { $0.key == key }?.stringValue
    }

    static func deadLetter(payload: [UInt8], key: [UInt8]? = Array("user-1".utf8), limits: DeadLetterRecord.Limits = .init()) -> DeadLetterRecord {
        payload.withUnsafeBytes { bytes in
            key.withUnsafeBytesOrNil { keyBytes in
                DeadLetterRecord.make(key: keyBytes, payload: bytes, reason: "The event is too large.", sourceTopic: "events",
                                      sourcePartition: 0, sourceOffset: 200, limits: limits)
            }
        }
    }

    @Test("SHA-256 matches the standard's test vectors")
    func sha256() {
        func hex(_ text: String) -> String { Array(text.utf8).withUnsafeBytes { SHA256.hexDigest($0) } }
        #expect(hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")
            == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        #expect(hex(String(repeating: "a", count: 1_000_000)) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    @Test("a dead-letter record keeps a small message whole and cuts a large one to a prefix with its size and digest")
    func deadLetterRecords() {
        let small = Self.deadLetter(payload: Array("{bad".utf8))
        #expect(small.value == Array("{bad".utf8) && small.key == Array("user-1".utf8) && !small.isCut)
        #expect(small.headers.map(\.key) == ["error", "source.topic", "source.partition", "source.offset"])

        let payload = [UInt8](repeating: UInt8(ascii: "x"), count: 1_200_000)
        let large = Self.deadLetter(payload: payload)
        #expect(large.isCut && large.value.count == 1_024 && large.key == Array("user-1".utf8))
        #expect(large.headers.first { $0.key == "original.size" }?.stringValue == "1200000")
        #expect(large.headers.first { $0.key == "original.sha256" }?.stringValue == payload.withUnsafeBytes { SHA256.hexDigest($0) })
        #expect(large.headers.first { $0.key == "error" }?.stringValue == "The event is too large.")

        // A huge key is cut too.
        let keyed = Self.deadLetter(payload: Array("{}".utf8), key: [UInt8](repeating: 65, count: 100_000))
        #expect(keyed.isCut && keyed.key?.count == 1_024 && keyed.headers.contains { $0.key == "original.key_size" })

        // Reduced further: a whole record becomes a prefix, a cut one loses its prefix, then nothing is left.
        let reduced = small.reduced(prefixBytes: 2)
        #expect(reduced?.value == Array("{b".utf8) && reduced?.isCut == true)
        let headersOnly = large.reduced(prefixBytes: 1_024)
        #expect(headersOnly?.value == [] && headersOnly?.key == [] && headersOnly?.headers.contains { $0.key == "original.key_size" } == true)
        #expect(headersOnly?.reduced(prefixBytes: 1_024) == nil)
    }

    @Test("too large for the producer: the dead-letter record is cut at send and delivered, nothing stops")
    func refusedAtSend() throws {
        let producer = ScriptedProducer()
        producer.localLimit = 1_000
        let (sender, metrics, _) = Self.sender(producer, limits: .init(maxPayloadBytes: 5_000, prefixBytes: 100))
        let record = Self.deadLetter(payload: [UInt8](repeating: 7, count: 3_000), limits: .init(maxPayloadBytes: 5_000, prefixBytes: 100))
        #expect(!record.isCut, "fits the configured limit, but not the producer's")
        #expect(try sender.send(.deadLetter, topic: Self.topics.deadLetter, key: record.key, value: record.value, headers: record.headers, context: "test"))
        try sender.flush(timeout: .seconds(1))
        #expect(producer.delivered.count == 1)
        let delivered = try #require(producer.delivered.first)
        #expect(delivered.value.count == 100 && Self.header(delivered, "original.size") == "3000")
        #expect(Self.metric(metrics, "dead_letter", "cut") == 1)
    }

    @Test("refused by the broker after send: dead letters are cut and sent again, a recommendation is dropped with a count")
    func refusedInDeliveryReport() throws {
        let producer = ScriptedProducer()
        producer.brokerLimit = [Self.topics.deadLetter: 500, Self.topics.recommendations: 800]
        let (sender, metrics, log) = Self.sender(producer, limits: .init(maxPayloadBytes: 65_536, prefixBytes: 200))
        let record = Self.deadLetter(payload: [UInt8](repeating: 1, count: 2_000))
        try sender.send(.deadLetter, topic: Self.topics.deadLetter, key: record.key, value: record.value, headers: record.headers, context: "t")
        try sender.send(.recommendations, topic: Self.topics.recommendations, key: Array("u".utf8), value: [UInt8](repeating: 2, count: 900), context: "t")
        try sender.send(.recommendations, topic: Self.topics.recommendations, key: Array("u".utf8), value: [UInt8](repeating: 3, count: 10), context: "t")
        try sender.flush(timeout: .seconds(1))
        #expect(producer.delivered.map(\.topic) == [Self.topics.recommendations, Self.topics.deadLetter])
        #expect(producer.delivered.last?.value.count == 200 && Self.header(producer.delivered.last!, "original.size") == "2000")
        #expect(Self.metric(metrics, "dead_letter", "cut") == 1)
        #expect(Self.metric(metrics, "recommendations", "dropped") == 1)
        #expect(log.lines.withLock { $0 }.contains { $0.contains("recommendations output of 900 bytes dropped") })
    }

    @Test("transient failures are sent again until delivered; the flush returns only then")
    func transientFailures() throws {
        let producer = ScriptedProducer()
        producer.transientFailures = 3
        let (sender, metrics, _) = Self.sender(producer)
        for index in 0..<2 {
            try sender.send(.recommendations, topic: Self.topics.recommendations, key: nil, value: [UInt8(index)], context: "t")
        }
        try sender.flush(timeout: .seconds(1))
        #expect(producer.delivered.map(\.value).sorted { $0[0] < $1[0] } == [[0], [1]])
        #expect(Self.metric(metrics, "recommendations", "sent_again") == 3)
    }

    @Test("a dead-letter topic we may not write to, or a fatal client, stops the service")
    func stops() throws {
        let producer = ScriptedProducer()
        producer.forbiddenTopics = [Self.topics.deadLetter]
        let (sender, metrics, _) = Self.sender(producer)
        let record = Self.deadLetter(payload: Array("{bad".utf8))
        try sender.send(.deadLetter, topic: Self.topics.deadLetter, key: record.key, value: record.value, headers: record.headers, context: "t")
        #expect(throws: OutputFailure.self) { try sender.flush(timeout: .seconds(1)) }
        #expect(Self.metric(metrics, "dead_letter", "stopped") == 1)

        // Alerts to a forbidden topic are dropped instead: the service goes on.
        let alerts = ScriptedProducer()
        alerts.forbiddenTopics = [Self.topics.alerts]
        let (alertSender, _, _) = Self.sender(alerts)
        try alertSender.send(.alerts, topic: Self.topics.alerts, key: nil, value: [1], context: "t")
        try alertSender.flush(timeout: .seconds(1))

        let broken = ScriptedProducer()
        broken.fatal = true
        let (fatalSender, _, _) = Self.sender(broken)
        #expect(throws: KafkaError.self) {
            try fatalSender.send(.recommendations, topic: Self.topics.recommendations, key: nil, value: [1], context: "t")
        }
    }

    @Test("the failure classes come from librdkafka's codes")
    func classification() {
        #expect(KafkaError(kind: .produce, message: "", responseCode: 10).produceFailure == .messageRejected)
        #expect(KafkaError(kind: .produce, message: "", responseCode: 87).produceFailure == .messageRejected)
        #expect(KafkaError(kind: .produce, message: "", responseCode: 29).produceFailure == .destinationRejected)
        #expect(KafkaError(kind: .produce, message: "", responseCode: 3).produceFailure == .destinationRejected)
        #expect(KafkaError(kind: .produce, message: "", responseCode: -192).produceFailure == .transient)
        #expect(KafkaError(kind: .produce, message: "", responseCode: -150).produceFailure == .fatal)
        #expect(OutputFailurePolicy.action(for: .deadLetter, failure: .messageRejected) == .reduce)
        #expect(OutputFailurePolicy.action(for: .recommendations, failure: .messageRejected) == .drop)
        #expect(OutputFailurePolicy.action(for: .deadLetter, failure: .destinationRejected) == .stop)
        #expect(OutputFailurePolicy.action(for: .alerts, failure: .destinationRejected) == .drop)
    }
}

extension Optional where Wrapped == [UInt8] {
    func withUnsafeBytesOrNil<Result>(_ body: (UnsafeRawBufferPointer?) -> Result) -> Result {
        switch self {
        case let .some(bytes): bytes.withUnsafeBytes { body($0) }
        case .none: body(nil)
        }
    }
}
