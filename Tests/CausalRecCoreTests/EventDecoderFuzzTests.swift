import CausalRecCore
import Testing

/// Random and mutated inputs: the decoder never crashes, and every input is either accepted as an
/// event that round-trips through the encoder, or rejected with a one-sentence reason.
@Suite("Event decoder fuzzing")
struct EventDecoderFuzzTests {
    static let seeds: [String] = [
        #"{"type":"impression","user":"u1","items":["i9","i4","i7"],"ts":1732838400123,"context":"home"}"#,
        #"{"type":"impression","user":"u1","item":"i4","position":2}"#,
        #"{"type":"click","user":"u1","item":"i4","ts":1732838401456}"#,
        #"{"type":"request","user":"u1","k":20,"ts":1732838401999}"#,
        #"{"type":"forget","user":"u1","ts":1732838402000}"#,
        #"{"type":"click","user":"ü\u00e9\ud83d\ude00","item":"i\"4","ts":1732838401456,"extra":{"a":[1,2,{"b":null}]}}"#,
    ]

    static let alphabet = Array(#"{}[]:,"\ .-+eE0123456789truefalsnulltypeuseritemclick"#.utf8) + [0, 0x7F, 0xC3, 0xA9, 0xFF, 0xED, 0xA0, 0x80]

    static func mutate(_ input: [UInt8], _ random: inout Xoshiro256) -> [UInt8] {
        var bytes = input
        for _ in 0..<(1 + random.nextIndex(below: 4)) {
            switch random.nextIndex(below: 6) {
            case 0 where !bytes.isEmpty: // flip a bit
                let index = random.nextIndex(below: bytes.count)
                bytes[index] ^= UInt8(1 << random.nextIndex(below: 8))
            case 1 where !bytes.isEmpty: // truncate
                bytes.removeLast(random.nextIndex(below: bytes.count) + 1)
            case 2: // insert a byte from the alphabet
                bytes.insert(alphabet[random.nextIndex(below: alphabet.count)], at: random.nextIndex(below: bytes.count + 1))
            case 3 where !bytes.isEmpty: // delete a byte
                bytes.remove(at: random.nextIndex(below: bytes.count))
            case 4 where bytes.count > 2: // duplicate a slice
                let start = random.nextIndex(below: bytes.count - 1)
                let end = start + 1 + random.nextIndex(below: min(40, bytes.count - start - 1))
                bytes.insert(contentsOf: bytes[start..<end], at: random.nextIndex(below: bytes.count + 1))
            default: // replace a byte
                if !bytes.isEmpty { bytes[random.nextIndex(below: bytes.count)] = alphabet[random.nextIndex(below: alphabet.count)] }
            }
        }
        return bytes
    }

    static func check(_ input: [UInt8], decoder: EventDecoder, accepted: inout Int, rejected: inout Int) {
        switch decoder.decode(input) {
        case let .success(event):
            accepted += 1
            // An accepted event re-encodes to something that decodes to the same event.
            let again = decoder.decode(EventEncoder.encode(event))
            #expect(again == .success(event), "\(String(decoding: input, as: UTF8.self))")
        case let .failure(rejection):
            rejected += 1
            let reason = "\(rejection)"
            #expect(!reason.isEmpty && reason.count < 400 && !reason.contains("\n"), "reason: \(reason)")
        }
    }

    @Test("120,000 mutated and random inputs: accepted and round-tripping, or rejected with a reason")
    func fuzz() {
        let decoder = EventDecoder()
        var random = Xoshiro256(seed: 2026)
        var accepted = 0, rejected = 0
        let seeds = Self.seeds.map { Array($0.utf8) }
        for round in 0..<100_000 {
            Self.check(Self.mutate(seeds[round % seeds.count], &random), decoder: decoder, accepted: &accepted, rejected: &rejected)
        }
        for _ in 0..<20_000 {
            let length = random.nextIndex(below: 120)
            let bytes = (0..<length).map { _ in random.nextIndex(below: 3) == 0 ? UInt8(truncatingIfNeeded: random.next())
                                                                            : Self.alphabet[random.nextIndex(below: Self.alphabet.count)] }
            Self.check(bytes, decoder: decoder, accepted: &accepted, rejected: &rejected)
        }
        #expect(accepted + rejected == 120_000)
        #expect(accepted > 1_000 && rejected > 50_000, "accepted \(accepted), rejected \(rejected)")
    }

    @Test("deep nesting and huge numbers in unknown fields are rejected or skipped without exhausting the stack")
    func pathological() {
        let decoder = EventDecoder()
        let deep = String(repeating: "[", count: 30_000) + String(repeating: "]", count: 30_000)
        for text in [
            #"{"type":"click","user":"u","item":"i","ts":1732838401456,"x":"# + deep + "}",
            #"{"type":"click","user":"u","item":"i","ts":1732838401456,"x":"# + String(repeating: "{\"a\":", count: 20_000) + "1" + String(repeating: "}", count: 20_000) + "}",
            #"{"type":"click","user":"u","item":"i","ts":1"# + String(repeating: "9", count: 5_000) + "}",
            #"{"type":"click","user":"u","item":"i","ts":1e400}"#,
            #"{"type":"click","user":"u","item":"i","ts":-0.0}"#,
            String(repeating: "\"", count: 60_000),
        ] {
            let result = decoder.decode(text)
            if case let .failure(rejection) = result { #expect(!"\(rejection)".isEmpty) }
        }
    }
}
