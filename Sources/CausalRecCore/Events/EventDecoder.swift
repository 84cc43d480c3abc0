/// Decodes and validates one JSON event (the schema in README.md, "Events and outputs") straight from the message bytes.
///
/// A hand-written scanner instead of Foundation's `JSONDecoder`: it reads the bytes once, builds
/// only the strings the event keeps (short ids fit Swift's inline small-string form, so most
/// events allocate nothing but the slate array), skips unknown fields without materialising them,
/// and reports the first problem as one sentence.
public struct EventDecoder: Sendable {
    public var limits: EventLimits

    public init(limits: EventLimits = EventLimits()) {
        self.limits = limits
    }

    public func decode(_ bytes: UnsafeRawBufferPointer) -> Result<Event, EventRejection> {
        guard bytes.count <= limits.maxEventBytes else {
            return .failure(EventRejection("The event is \(bytes.count) bytes, above the \(limits.maxEventBytes)-byte limit."))
        }
        guard let base = bytes.baseAddress, bytes.count > 0 else {
            return .failure(EventRejection("The message is empty; expected a JSON object."))
        }
        var parser = EventParser(base: base.assumingMemoryBound(to: UInt8.self), count: bytes.count, limits: limits)
        do {
            return .success(try parser.parseEvent())
        } catch {
            return .failure(error)
        }
    }

    public func decode(_ bytes: [UInt8]) -> Result<Event, EventRejection> {
        bytes.withUnsafeBytes { decode($0) }
    }

    public func decode(_ text: String) -> Result<Event, EventRejection> {
        var copy = text
        return copy.withUTF8 { decode(UnsafeRawBufferPointer($0)) }
    }
}

extension EventDecoder {
    /// Input text quoted in a reason: at most 40 characters, control characters escaped, so a
    /// reason stays one line in a header or a log (no injected line breaks).
    static func quotable(_ text: String) -> String {
        var shown = ""
        for scalar in text.unicodeScalars.prefix(40) {
            if scalar.value < 0x20 || scalar.value == 0x7F || (0x80..<0xA0).contains(scalar.value)
                || scalar == "\u{2028}" || scalar == "\u{2029}"
            {
                shown += "\\u" + String(repeating: "0", count: 4 - String(scalar.value, radix: 16).count) + String(scalar.value, radix: 16)
            } else {
                shown.unicodeScalars.append(scalar)
            }
        }
        return text.unicodeScalars.count > 40 ? shown + "…" : shown
    }
}
