import CausalRecCore
import Testing

@Suite("Event decoding and validation")
struct EventDecoderTests {
    let decoder = EventDecoder()

    func accept(_ text: String) -> Event? {
        switch decoder.decode(text) {
        case let .success(event): return event
        case let .failure(rejection):
            Issue.record("rejected: \(rejection.reason)")
            return nil
        }
    }

    func reject(_ text: String) -> String {
        switch decoder.decode(text) {
        case .success: return "accepted"
        case let .failure(rejection): return rejection.reason
        }
    }

    @Test func impressionSlate() {
        let event = accept(#"{"type":"impression","user":"u1","items":["i9","i4","i7"],"ts":1732838400123,"context":"home"}"#)
        #expect(event == .impression(Impression(user: "u1", items: ["i9", "i4", "i7"], timestamp: 1_732_838_400_123, context: "home")))
    }

    @Test func impressionSingleItemWithPositionAndUnknownFields() {
        let event = accept(#" { "extra": {"a": [1, 2.5e3, true, null, {"b": "c"}]}, "type" : "impression", "user":"u1", "item":"i4", "position": 2 } "#)
        #expect(event == .impression(Impression(user: "u1", items: ["i4"], timestamp: nil, position: 2)))
    }

    @Test func clickAndRequest() {
        #expect(accept(#"{"type":"click","user":"u1","item":"i4","ts":1732838401456}"#)
            == .click(Click(user: "u1", item: "i4", timestamp: 1_732_838_401_456)))
        #expect(accept(#"{"type":"request","user":"u1","k":20,"ts":1732838401456}"#)
            == .request(RecommendationRequest(user: "u1", k: 20, timestamp: 1_732_838_401_456)))
        #expect(accept(#"{"type":"request","user":"u1"}"#) == .request(RecommendationRequest(user: "u1", k: nil, timestamp: nil)))
    }

    @Test func escapesAndUnicode() {
        let event = accept(#"{"type":"click","user":"\u00fcser \"q\" \ud83d\ude00","item":"i\/4"}"#)
        #expect(event == .click(Click(user: "üser \"q\" 😀", item: "i/4", timestamp: nil)))
    }

    @Test("field names with escapes are still recognised")
    func escapedFieldNames() {
        #expect(accept(#"{"\u0074ype":"click","us\u0065r":"u","item":"i"}"#) == .click(Click(user: "u", item: "i", timestamp: nil)))
        #expect(reject(#"{"type":"click","\u0075ser":"u","user":"v","item":"i"}"#) == "Field 'user' appears more than once.")
    }

    @Test func nullOptionalFields() {
        #expect(accept(#"{"type":"click","user":"u","item":"i","ts":null}"#) == .click(Click(user: "u", item: "i", timestamp: nil)))
    }

    @Test func rejectionsSayWhy() {
        #expect(reject("{not json").contains("not valid JSON"))
        #expect(reject(#"{"type":"click","user":"u1","item":"#) == "The message is not valid JSON: expected a value for 'item' at the end of the input.")
        #expect(reject("").contains("empty"))
        #expect(reject("[1,2]").contains("expected a JSON object"))
        #expect(reject(#"{"type":"click","item":"i"}"#) == "Field 'user' is missing.")
        #expect(reject(#"{"user":"u","item":"i"}"#) == "Field 'type' is missing.")
        #expect(reject(#"{"type":"purchase","user":"u","item":"i"}"#) == "Field 'type' is 'purchase'; expected impression, click, request or forget.")
        #expect(reject(#"{"type":"click","user":42,"item":"i"}"#) == "Field 'user' must be a string, not a number.")
        #expect(reject(#"{"type":"click","user":"u","item":"i","ts":"yesterday"}"#) == "Field 'ts' must be an integer, not a string.")
        #expect(reject(#"{"type":"click","user":"u","item":"i","ts":1732838401.5}"#) == "Field 'ts' must be an integer, not a fractional number.")
        #expect(reject(#"{"type":"click","user":"u","item":"i","ts":1732838401}"#).contains("looks like seconds"))
        #expect(reject(#"{"type":"click","user":"u","item":"i","ts":1732838401000000}"#).contains("looks like microseconds"))
        #expect(reject(#"{"type":"click","user":"","item":"i"}"#) == "Field 'user' is an empty string.")
        #expect(reject(#"{"type":"click","user":"\u0000meta","item":"i"}"#) == "Field 'user' starts with a NUL character.")
        #expect(reject(#"{"type":"impression","user":"u","items":["a","\u0000b"]}"#) == "Field 'items[1]' starts with a NUL character.")
        #expect(reject(#"{"type":"click","user":"u","user":"v","item":"i"}"#) == "Field 'user' appears more than once.")
        #expect(reject(#"{"type":"click","user":"u"}"#) == "Field 'item' is missing.")
        #expect(reject(#"{"type":"impression","user":"u"}"#).contains("needs 'items'"))
        #expect(reject(#"{"type":"impression","user":"u","items":[]}"#) == "Field 'items' is an empty array.")
        #expect(reject(#"{"type":"impression","user":"u","items":["a",3]}"#).contains("element 1 is a number"))
        #expect(reject(#"{"type":"request","user":"u","k":0}"#) == "Field 'k' is 0; expected 1 to 1000.")
        #expect(reject(#"{"type":"request","user":"u","k":5000}"#) == "Field 'k' is 5000; expected 1 to 1000.")
        #expect(reject(#"{"type":"click","user":"u","item":"i"} trailing"#).contains("unexpected data after the JSON object"))
        #expect(reject(#"{"type":"click","user":"u","item":"i",}"#).contains("expected a field name"))
        #expect(reject(#"{"type":"click","user":"u","item":"i","n":0123}"#).contains("not valid JSON"))
        #expect(reject(#"{"type":"click","user":"u\x","item":"i"}"#).contains("invalid escape"))
        #expect(reject(#"{"type":"click","user":"\ud83d","item":"i"}"#).contains("surrogate"))
    }

    @Test func limits() {
        let longID = String(repeating: "x", count: 257)
        #expect(reject(#"{"type":"click","user":"\#(longID)","item":"i"}"#) == "Field 'user' is 257 bytes long, above the 256-byte limit.")
        let okID = String(repeating: "x", count: 256)
        #expect(accept(#"{"type":"click","user":"\#(okID)","item":"i"}"#) != nil)
        let slate = (0..<1001).map { "\"i\($0)\"" }.joined(separator: ",")
        #expect(reject(#"{"type":"impression","user":"u","items":[\#(slate)]}"#) == "Field 'items' holds more than 1000 items.")
        let padding = String(repeating: " ", count: 200 * 1024)
        let oversize = #"{"type":"click","user":"u","item":"i"}\#(padding)"#
        #expect(reject(oversize) == "The event is \(oversize.utf8.count) bytes, above the 65536-byte limit.")
        let deep = String(repeating: "[", count: 40) + String(repeating: "]", count: 40)
        #expect(reject(#"{"type":"click","user":"u","item":"i","x":\#(deep)}"#).contains("nests deeper"))
    }

    @Test func invalidUTF8() {
        var bytes = Array(#"{"type":"click","user":"u","item":"i"}"#.utf8)
        bytes[25] = 0xFF
        switch decoder.decode(bytes) {
        case .success: Issue.record("invalid UTF-8 accepted")
        case let .failure(rejection): #expect(rejection.reason == "The message is not valid UTF-8.")
        }
    }

    @Test func encoderRoundTrip() {
        let events: [Event] = [
            .impression(Impression(user: "u\"1\\", items: ["a", "b\n"], timestamp: 1_732_838_400_123, context: "home", position: 3)),
            .impression(Impression(user: "u", items: ["only"], timestamp: nil)),
            .click(Click(user: "u", item: "é", timestamp: 1_732_838_400_124)),
            .request(RecommendationRequest(user: "u", k: 7, timestamp: nil)),
        ]
        for event in events {
            #expect((try? decoder.decode(EventEncoder.encode(event)).get()) == event)
        }
    }
}
