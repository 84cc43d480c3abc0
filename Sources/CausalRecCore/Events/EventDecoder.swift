/// Decodes and validates one JSON event (DESIGN.md §2) straight from the message bytes.
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

/// The fields an event may carry, as found.
private struct EventFields {
    var type: String?
    var user: String?
    var item: String?
    var items: [String]?
    var timestamp: Int64?
    var context: String?
    var position: Int64?
    var k: Int64?
}

private enum Field: String, CaseIterable {
    case type, user, item, items, ts, context, position, k

    /// Position in the "seen" bit set.
    var bit: UInt8 {
        switch self {
        case .type: 0
        case .user: 1
        case .item: 2
        case .items: 3
        case .ts: 4
        case .context: 5
        case .position: 6
        case .k: 7
        }
    }

    /// Recognises a field name from its raw (escape-free) bytes without building a String.
    static func match(_ bytes: UnsafeBufferPointer<UInt8>) -> Field? {
        @inline(__always) func equals(_ literal: StaticString) -> Bool {
            guard bytes.count == literal.utf8CodeUnitCount else { return false }
            let expected = literal.utf8Start
            for offset in 0..<bytes.count where bytes[offset] != expected[offset] { return false }
            return true
        }
        switch bytes.count {
        case 1: return equals("k") ? .k : nil
        case 2: return equals("ts") ? .ts : nil
        case 4: return equals("type") ? .type : (equals("user") ? .user : (equals("item") ? .item : nil))
        case 5: return equals("items") ? .items : nil
        case 7: return equals("context") ? .context : nil
        case 8: return equals("position") ? .position : nil
        default: return nil
        }
    }
}

private struct EventParser {
    let base: UnsafePointer<UInt8>
    let count: Int
    let limits: EventLimits
    var index = 0

    init(base: UnsafePointer<UInt8>, count: Int, limits: EventLimits) {
        self.base = base
        self.count = count
        self.limits = limits
    }

    // MARK: Event structure

    mutating func parseEvent() throws(EventRejection) -> Event {
        skipWhitespace()
        guard peek() == UInt8(ascii: "{") else {
            if index >= count { throw EventRejection("The message is blank; expected a JSON object.") }
            throw syntaxError("expected a JSON object")
        }
        index += 1
        var fields = EventFields()
        var seen: UInt8 = 0
        skipWhitespace()
        if peek() == UInt8(ascii: "}") {
            index += 1
        } else {
            while true {
                skipWhitespace()
                guard peek() == UInt8(ascii: "\"") else { throw syntaxError("expected a field name") }
                let field = try parseFieldName()
                skipWhitespace()
                guard peek() == UInt8(ascii: ":") else { throw syntaxError("expected ':' after a field name") }
                index += 1
                skipWhitespace()
                if let field {
                    let bit = UInt8(1) << field.bit
                    guard seen & bit == 0 else {
                        throw EventRejection("Field '\(field.rawValue)' appears more than once.")
                    }
                    seen |= bit
                    try parseKnown(field, into: &fields)
                } else {
                    try skipValue(depth: 1)
                }
                skipWhitespace()
                let next = peek()
                if next == UInt8(ascii: ",") {
                    index += 1
                    continue
                }
                if next == UInt8(ascii: "}") {
                    index += 1
                    break
                }
                throw syntaxError("expected ',' or '}' after a field")
            }
        }
        skipWhitespace()
        guard index == count else { throw syntaxError("unexpected data after the JSON object") }
        return try validate(fields)
    }

    private mutating func parseKnown(_ field: Field, into fields: inout EventFields) throws(EventRejection) {
        switch field {
        case .type:
            fields.type = try parseRequiredString(field)
        case .user:
            fields.user = try parseIdentifier(field)
        case .item:
            fields.item = try parseIdentifier(field)
        case .items:
            fields.items = try parseItems()
        case .ts:
            fields.timestamp = try parseOptionalInteger(field)
        case .context:
            if try consumeNull() { return }
            guard peek() == UInt8(ascii: "\"") else { throw typeError(field, expected: "a string") }
            let context = try parseString()
            guard context.utf8.count <= limits.maxIdentifierBytes else {
                throw EventRejection("Field 'context' is \(context.utf8.count) bytes long, above the \(limits.maxIdentifierBytes)-byte limit.")
            }
            fields.context = context
        case .position:
            fields.position = try parseOptionalInteger(field)
        case .k:
            fields.k = try parseOptionalInteger(field)
        }
    }

    private func validate(_ fields: EventFields) throws(EventRejection) -> Event {
        guard let type = fields.type else { throw EventRejection("Field 'type' is missing.") }
        guard let user = fields.user else { throw EventRejection("Field 'user' is missing.") }
        if let timestamp = fields.timestamp {
            if timestamp < EventLimits.smallestMillisecondTimestamp {
                throw EventRejection("Field 'ts' is \(timestamp), which looks like seconds; expected epoch milliseconds (at least 10^11).")
            }
            if timestamp > EventLimits.largestMillisecondTimestamp {
                throw EventRejection("Field 'ts' is \(timestamp), which looks like microseconds; expected epoch milliseconds (at most 10^14).")
            }
        }
        switch type {
        case "impression":
            if fields.item != nil && fields.items != nil {
                throw EventRejection("An impression has both 'item' and 'items'; use one of them.")
            }
            let items: [String]
            if let slate = fields.items {
                items = slate
            } else if let item = fields.item {
                items = [item]
            } else {
                throw EventRejection("An impression needs 'items' (a slate) or 'item'.")
            }
            var position: Int?
            if let value = fields.position {
                guard value >= 0 && value <= Int64(limits.maxSlateItems) else {
                    throw EventRejection("Field 'position' is \(value); expected 0 to \(limits.maxSlateItems).")
                }
                position = Int(value)
            }
            return .impression(Impression(user: user, items: items, timestamp: fields.timestamp,
                                          context: fields.context, position: position))
        case "click":
            guard fields.items == nil else { throw EventRejection("A click names one 'item', not 'items'.") }
            guard let item = fields.item else { throw EventRejection("Field 'item' is missing.") }
            return .click(Click(user: user, item: item, timestamp: fields.timestamp))
        case "request":
            var k: Int?
            if let value = fields.k {
                guard value >= 1 && value <= Int64(limits.maxK) else {
                    throw EventRejection("Field 'k' is \(value); expected 1 to \(limits.maxK).")
                }
                k = Int(value)
            }
            return .request(RecommendationRequest(user: user, k: k, timestamp: fields.timestamp))
        case "forget":
            guard fields.items == nil, fields.item == nil else { throw EventRejection("A forget names only a 'user'.") }
            return .forget(ForgetRequest(user: user, timestamp: fields.timestamp))
        default:
            throw EventRejection("Field 'type' is '\(EventDecoder.quotable(type))'; expected impression, click, request or forget.")
        }
    }

    // MARK: Typed values

    private mutating func parseRequiredString(_ field: Field) throws(EventRejection) -> String {
        guard peek() == UInt8(ascii: "\"") else { throw typeError(field, expected: "a string") }
        return try parseString()
    }

    private mutating func parseIdentifier(_ field: Field) throws(EventRejection) -> String {
        let value = try parseRequiredString(field)
        try checkIdentifier(value, name: "'\(field.rawValue)'")
        return value
    }

    private func checkIdentifier(_ value: String, name: String) throws(EventRejection) {
        let length = value.utf8.count
        if length == 0 { throw EventRejection("Field \(name) is an empty string.") }
        if length > limits.maxIdentifierBytes {
            throw EventRejection("Field \(name) is \(length) bytes long, above the \(limits.maxIdentifierBytes)-byte limit.")
        }
    }

    private mutating func parseItems() throws(EventRejection) -> [String] {
        guard peek() == UInt8(ascii: "[") else { throw typeError(.items, expected: "an array of strings") }
        index += 1
        var items: [String] = []
        skipWhitespace()
        if peek() == UInt8(ascii: "]") {
            throw EventRejection("Field 'items' is an empty array.")
        }
        while true {
            skipWhitespace()
            guard peek() == UInt8(ascii: "\"") else {
                if describeNext() == Self.notAValue { throw syntaxError("expected a value in 'items'") }
                throw EventRejection("Field 'items' must hold only strings; element \(items.count) is \(describeNext()).")
            }
            let item = try parseString()
            try checkIdentifier(item, name: "'items[\(items.count)]'")
            items.append(item)
            if items.count > limits.maxSlateItems {
                throw EventRejection("Field 'items' holds more than \(limits.maxSlateItems) items.")
            }
            skipWhitespace()
            let next = peek()
            if next == UInt8(ascii: ",") {
                index += 1
                continue
            }
            if next == UInt8(ascii: "]") {
                index += 1
                return items
            }
            throw syntaxError("expected ',' or ']' in 'items'")
        }
    }

    /// An integer, or nil for JSON null.
    private mutating func parseOptionalInteger(_ field: Field) throws(EventRejection) -> Int64? {
        if try consumeNull() { return nil }
        let next = peek()
        guard next == UInt8(ascii: "-") || (next >= UInt8(ascii: "0") && next <= UInt8(ascii: "9")) else {
            throw typeError(field, expected: "an integer")
        }
        let start = index
        let negative = next == UInt8(ascii: "-")
        if negative { index += 1 }
        var value: Int64 = 0
        var digits = 0
        var overflow = false
        while index < count, base[index] >= UInt8(ascii: "0"), base[index] <= UInt8(ascii: "9") {
            let (multiplied, o1) = value.multipliedReportingOverflow(by: 10)
            let (added, o2) = multiplied.addingReportingOverflow(Int64(base[index] - UInt8(ascii: "0")))
            overflow = overflow || o1 || o2
            value = added
            digits += 1
            index += 1
        }
        guard digits > 0 else { throw syntaxError("a number needs digits") }
        if index < count, base[index] == UInt8(ascii: ".") || base[index] == UInt8(ascii: "e") || base[index] == UInt8(ascii: "E") {
            index = start
            try skipNumber()
            throw typeError(field, expected: "an integer", found: "a fractional number")
        }
        if digits > 1 && base[start + (negative ? 1 : 0)] == UInt8(ascii: "0") {
            throw syntaxError("numbers must not have leading zeros")
        }
        if overflow { throw EventRejection("Field '\(field.rawValue)' is too large for a 64-bit integer.") }
        return negative ? -value : value
    }

    private mutating func consumeNull() throws(EventRejection) -> Bool {
        guard peek() == UInt8(ascii: "n") else { return false }
        try expectLiteral("null")
        return true
    }

    // MARK: JSON primitives

    @inline(__always)
    private func peek() -> UInt8 {
        index < count ? base[index] : 0
    }

    @inline(__always)
    private mutating func skipWhitespace() {
        while index < count {
            let byte = base[index]
            guard byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 else { return }
            index += 1
        }
    }

    /// Parses a field name; known names are matched on the raw bytes (no String is built).
    private mutating func parseFieldName() throws(EventRejection) -> Field? {
        let start = index + 1
        var end = start
        while end < count, base[end] != UInt8(ascii: "\""), base[end] != UInt8(ascii: "\\"), base[end] >= 0x20 {
            end += 1
        }
        if end < count, base[end] == UInt8(ascii: "\"") {
            index = end + 1
            return Field.match(UnsafeBufferPointer(start: base + start, count: end - start))
        }
        // Escapes or problems: take the general path.
        return Field(rawValue: try parseString())
    }

    /// Parses a JSON string starting at its opening quote.
    private mutating func parseString() throws(EventRejection) -> String {
        index += 1
        let start = index
        // Fast path: no escapes.
        while index < count {
            let byte = base[index]
            if byte == UInt8(ascii: "\"") {
                let text = try makeString(UnsafeBufferPointer(start: base + start, count: index - start))
                index += 1
                return text
            }
            if byte == UInt8(ascii: "\\") { break }
            if byte < 0x20 { throw syntaxError("control character inside a string") }
            index += 1
        }
        guard index < count else { throw syntaxError("unterminated string") }
        var bytes = Array(UnsafeBufferPointer(start: base + start, count: index - start))
        while index < count {
            let byte = base[index]
            if byte == UInt8(ascii: "\"") {
                index += 1
                return try bytes.withUnsafeBufferPointer { buffer throws(EventRejection) in try makeString(buffer) }
            }
            if byte < 0x20 { throw syntaxError("control character inside a string") }
            if byte != UInt8(ascii: "\\") {
                bytes.append(byte)
                index += 1
                continue
            }
            index += 1
            guard index < count else { throw syntaxError("unterminated escape") }
            let escape = base[index]
            index += 1
            switch escape {
            case UInt8(ascii: "\""): bytes.append(UInt8(ascii: "\""))
            case UInt8(ascii: "\\"): bytes.append(UInt8(ascii: "\\"))
            case UInt8(ascii: "/"): bytes.append(UInt8(ascii: "/"))
            case UInt8(ascii: "b"): bytes.append(0x08)
            case UInt8(ascii: "f"): bytes.append(0x0C)
            case UInt8(ascii: "n"): bytes.append(0x0A)
            case UInt8(ascii: "r"): bytes.append(0x0D)
            case UInt8(ascii: "t"): bytes.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = try parseHex4()
                if scalar >= 0xD800 && scalar < 0xDC00 {
                    guard index + 1 < count, base[index] == UInt8(ascii: "\\"), base[index + 1] == UInt8(ascii: "u") else {
                        throw syntaxError("unpaired UTF-16 surrogate")
                    }
                    index += 2
                    let low = try parseHex4()
                    guard low >= 0xDC00 && low < 0xE000 else { throw syntaxError("unpaired UTF-16 surrogate") }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                } else if scalar >= 0xDC00 && scalar < 0xE000 {
                    throw syntaxError("unpaired UTF-16 surrogate")
                }
                guard let unicode = Unicode.Scalar(scalar) else { throw syntaxError("invalid \\u escape") }
                bytes.append(contentsOf: UTF8.encode(unicode)!)
            default:
                throw syntaxError("invalid escape '\\\(Character(Unicode.Scalar(escape)))'")
            }
        }
        throw syntaxError("unterminated string")
    }

    private mutating func parseHex4() throws(EventRejection) -> UInt32 {
        guard index + 4 <= count else { throw syntaxError("truncated \\u escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = base[index]
            let digit: UInt32
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(byte - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(byte - UInt8(ascii: "A") + 10)
            default: throw syntaxError("invalid hex digit in \\u escape")
            }
            value = value << 4 | digit
            index += 1
        }
        return value
    }

    private func makeString(_ bytes: UnsafeBufferPointer<UInt8>) throws(EventRejection) -> String {
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw EventRejection("The message is not valid UTF-8.")
        }
        return text
    }

    private mutating func expectLiteral(_ literal: StaticString) throws(EventRejection) {
        let length = literal.utf8CodeUnitCount
        guard index + length <= count else { throw syntaxError("unexpected end of input") }
        let expected = literal.utf8Start
        for offset in 0..<length where base[index + offset] != expected[offset] {
            throw syntaxError("invalid literal")
        }
        index += length
    }

    private mutating func skipNumber() throws(EventRejection) {
        if peek() == UInt8(ascii: "-") { index += 1 }
        var digits = 0
        func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }
        let firstDigit = index
        while index < count, isDigit(base[index]) {
            index += 1
            digits += 1
        }
        guard digits > 0 else { throw syntaxError("a number needs digits") }
        if digits > 1 && base[firstDigit] == UInt8(ascii: "0") {
            throw syntaxError("numbers must not have leading zeros")
        }
        if peek() == UInt8(ascii: ".") {
            index += 1
            var fraction = 0
            while index < count, isDigit(base[index]) {
                index += 1
                fraction += 1
            }
            guard fraction > 0 else { throw syntaxError("a number needs digits after '.'") }
        }
        if peek() == UInt8(ascii: "e") || peek() == UInt8(ascii: "E") {
            index += 1
            if peek() == UInt8(ascii: "+") || peek() == UInt8(ascii: "-") { index += 1 }
            var exponent = 0
            while index < count, isDigit(base[index]) {
                index += 1
                exponent += 1
            }
            guard exponent > 0 else { throw syntaxError("a number needs digits in its exponent") }
        }
    }

    /// Skips any JSON value (for unknown fields), bounded in nesting depth.
    private mutating func skipValue(depth: Int) throws(EventRejection) {
        guard depth <= limits.maxNestingDepth else {
            throw EventRejection("The event nests deeper than \(limits.maxNestingDepth) levels.")
        }
        switch peek() {
        case UInt8(ascii: "\""):
            _ = try parseString()
        case UInt8(ascii: "{"):
            index += 1
            skipWhitespace()
            if peek() == UInt8(ascii: "}") {
                index += 1
                return
            }
            while true {
                skipWhitespace()
                guard peek() == UInt8(ascii: "\"") else { throw syntaxError("expected a field name") }
                _ = try parseString()
                skipWhitespace()
                guard peek() == UInt8(ascii: ":") else { throw syntaxError("expected ':' after a field name") }
                index += 1
                skipWhitespace()
                try skipValue(depth: depth + 1)
                skipWhitespace()
                if peek() == UInt8(ascii: ",") {
                    index += 1
                    continue
                }
                if peek() == UInt8(ascii: "}") {
                    index += 1
                    return
                }
                throw syntaxError("expected ',' or '}' in an object")
            }
        case UInt8(ascii: "["):
            index += 1
            skipWhitespace()
            if peek() == UInt8(ascii: "]") {
                index += 1
                return
            }
            while true {
                skipWhitespace()
                try skipValue(depth: depth + 1)
                skipWhitespace()
                if peek() == UInt8(ascii: ",") {
                    index += 1
                    continue
                }
                if peek() == UInt8(ascii: "]") {
                    index += 1
                    return
                }
                throw syntaxError("expected ',' or ']' in an array")
            }
        case UInt8(ascii: "t"):
            try expectLiteral("true")
        case UInt8(ascii: "f"):
            try expectLiteral("false")
        case UInt8(ascii: "n"):
            try expectLiteral("null")
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            try skipNumber()
        default:
            throw syntaxError("expected a value")
        }
    }

    // MARK: Errors

    private func describeNext() -> String {
        switch peek() {
        case UInt8(ascii: "\""): "a string"
        case UInt8(ascii: "{"): "an object"
        case UInt8(ascii: "["): "an array"
        case UInt8(ascii: "t"), UInt8(ascii: "f"): "a boolean"
        case UInt8(ascii: "n"): "null"
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): "a number"
        default: Self.notAValue
        }
    }

    private func typeError(_ field: Field, expected: String, found: String? = nil) -> EventRejection {
        let actual = found ?? describeNext()
        if actual == Self.notAValue {
            // Not a wrong type but broken JSON (e.g. a truncated message).
            return syntaxError("expected a value for '\(field.rawValue)'")
        }
        return EventRejection("Field '\(field.rawValue)' must be \(expected), not \(actual).")
    }

    private static let notAValue = "not a JSON value"

    private func syntaxError(_ problem: String) -> EventRejection {
        if index >= count {
            return EventRejection("The message is not valid JSON: \(problem) at the end of the input.")
        }
        let byte = base[index]
        let shown = byte >= 0x20 && byte < 0x7F ? "'\(Character(Unicode.Scalar(byte)))'" : "byte 0x\(String(byte, radix: 16))"
        return EventRejection("The message is not valid JSON: \(problem) at offset \(index) (found \(shown)).")
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
