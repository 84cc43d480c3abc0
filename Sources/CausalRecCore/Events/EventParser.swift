/// The fields an event may carry, as found.
struct EventFields {
    var type: String?
    var user: String?
    var item: String?
    var items: [String]?
    var timestamp: Int64?
    var context: String?
    var position: Int64?
    var k: Int64?
}

enum Field: String, CaseIterable {
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

/// Reads one event object with a `JSONScanner`: known fields into `EventFields` (each at most
/// once), unknown ones skipped, then the schema's rules (`validate`) — every problem one sentence.
struct EventParser {
    var scanner: JSONScanner
    let limits: EventLimits

    init(base: UnsafePointer<UInt8>, count: Int, limits: EventLimits) {
        scanner = JSONScanner(base: base, count: count)
        self.limits = limits
    }

    // MARK: Event structure

    mutating func parseEvent() throws(EventRejection) -> Event {
        scanner.skipWhitespace()
        guard scanner.peek() == UInt8(ascii: "{") else {
            if scanner.isAtEnd { throw EventRejection("The message is blank; expected a JSON object.") }
            throw scanner.syntaxError("expected a JSON object")
        }
        scanner.index += 1
        var fields = EventFields()
        var seen: UInt8 = 0
        scanner.skipWhitespace()
        if scanner.peek() == UInt8(ascii: "}") {
            scanner.index += 1
        } else {
            while true {
                scanner.skipWhitespace()
                guard scanner.peek() == UInt8(ascii: "\"") else { throw scanner.syntaxError("expected a field name") }
                let field: Field? = switch try scanner.parseKey() {
                case let .raw(bytes): Field.match(bytes)
                case let .decoded(name): Field(rawValue: name)
                }
                scanner.skipWhitespace()
                guard scanner.peek() == UInt8(ascii: ":") else { throw scanner.syntaxError("expected ':' after a field name") }
                scanner.index += 1
                scanner.skipWhitespace()
                if let field {
                    let bit = UInt8(1) << field.bit
                    guard seen & bit == 0 else {
                        throw EventRejection("Field '\(field.rawValue)' appears more than once.")
                    }
                    seen |= bit
                    try parseKnown(field, into: &fields)
                } else {
                    try scanner.skipValue(depth: 1, maxDepth: limits.maxNestingDepth)
                }
                scanner.skipWhitespace()
                let next = scanner.peek()
                if next == UInt8(ascii: ",") {
                    scanner.index += 1
                    continue
                }
                if next == UInt8(ascii: "}") {
                    scanner.index += 1
                    break
                }
                throw scanner.syntaxError("expected ',' or '}' after a field")
            }
        }
        scanner.skipWhitespace()
        guard scanner.isAtEnd else { throw scanner.syntaxError("unexpected data after the JSON object") }
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
            if try scanner.consumeNull() { return }
            guard scanner.peek() == UInt8(ascii: "\"") else { throw typeError(field, expected: "a string") }
            let context = try scanner.parseString()
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
        guard scanner.peek() == UInt8(ascii: "\"") else { throw typeError(field, expected: "a string") }
        return try scanner.parseString()
    }

    private mutating func parseIdentifier(_ field: Field) throws(EventRejection) -> String {
        let value = try parseRequiredString(field)
        try checkIdentifier(value, name: "'\(field.rawValue)'")
        return value
    }

    /// `name` is built only for the message of a rejection (an interpolated name per slate item
    /// cost an allocation per item on the hot path).
    private func checkIdentifier(_ value: String, name: @autoclosure () -> String) throws(EventRejection) {
        let length = value.utf8.count
        if length == 0 { throw EventRejection("Field \(name()) is an empty string.") }
        // Keys that start with NUL name the service's own records in the users' changelog.
        if value.utf8.first == 0 { throw EventRejection("Field \(name()) starts with a NUL character.") }
        if length > limits.maxIdentifierBytes {
            throw EventRejection("Field \(name()) is \(length) bytes long, above the \(limits.maxIdentifierBytes)-byte limit.")
        }
    }

    private mutating func parseItems() throws(EventRejection) -> [String] {
        guard scanner.peek() == UInt8(ascii: "[") else { throw typeError(.items, expected: "an array of strings") }
        scanner.index += 1
        var items: [String] = []
        items.reserveCapacity(8)
        scanner.skipWhitespace()
        if scanner.peek() == UInt8(ascii: "]") {
            throw EventRejection("Field 'items' is an empty array.")
        }
        while true {
            scanner.skipWhitespace()
            guard scanner.peek() == UInt8(ascii: "\"") else {
                if scanner.describeNext() == JSONScanner.notAValue { throw scanner.syntaxError("expected a value in 'items'") }
                throw EventRejection("Field 'items' must hold only strings; element \(items.count) is \(scanner.describeNext()).")
            }
            let item = try scanner.parseString()
            try checkIdentifier(item, name: "'items[\(items.count)]'")
            items.append(item)
            if items.count > limits.maxSlateItems {
                throw EventRejection("Field 'items' holds more than \(limits.maxSlateItems) items.")
            }
            scanner.skipWhitespace()
            let next = scanner.peek()
            if next == UInt8(ascii: ",") {
                scanner.index += 1
                continue
            }
            if next == UInt8(ascii: "]") {
                scanner.index += 1
                return items
            }
            throw scanner.syntaxError("expected ',' or ']' in 'items'")
        }
    }

    /// An integer, or nil for JSON null.
    private mutating func parseOptionalInteger(_ field: Field) throws(EventRejection) -> Int64? {
        if try scanner.consumeNull() { return nil }
        let next = scanner.peek()
        guard next == UInt8(ascii: "-") || (next >= UInt8(ascii: "0") && next <= UInt8(ascii: "9")) else {
            throw typeError(field, expected: "an integer")
        }
        switch try scanner.scanInteger() {
        case let .value(value): return value
        case .fractional: throw typeError(field, expected: "an integer", found: "a fractional number")
        case .overflow: throw EventRejection("Field '\(field.rawValue)' is too large for a 64-bit integer.")
        }
    }

    private func typeError(_ field: Field, expected: String, found: String? = nil) -> EventRejection {
        let actual = found ?? scanner.describeNext()
        if actual == JSONScanner.notAValue {
            // Not a wrong type but broken JSON (e.g. a truncated message).
            return scanner.syntaxError("expected a value for '\(field.rawValue)'")
        }
        return EventRejection("Field '\(field.rawValue)' must be \(expected), not \(actual).")
    }

}
