/// A cursor over the bytes of one JSON text: the primitives of the format (whitespace, strings
/// with their escapes, numbers, literals, skipping any value) and syntax errors as one sentence
/// with the offset. It knows nothing of events; `EventParser` reads the event schema with it.
struct JSONScanner {
    let base: UnsafePointer<UInt8>
    let count: Int
    var index = 0

    init(base: UnsafePointer<UInt8>, count: Int) {
        self.base = base
        self.count = count
    }

    var isAtEnd: Bool { index >= count }

    @inline(__always)
    func peek() -> UInt8 {
        index < count ? base[index] : 0
    }

    @inline(__always)
    mutating func skipWhitespace() {
        while index < count {
            let byte = base[index]
            guard byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 else { return }
            index += 1
        }
    }

    /// A field name: its raw bytes when it has no escapes (matched without building a String),
    /// else the decoded string.
    enum Key {
        case raw(UnsafeBufferPointer<UInt8>)
        case decoded(String)
    }

    /// Parses a field name starting at its opening quote.
    mutating func parseKey() throws(EventRejection) -> Key {
        let start = index + 1
        var end = start
        while end < count, base[end] != UInt8(ascii: "\""), base[end] != UInt8(ascii: "\\"), base[end] >= 0x20 {
            end += 1
        }
        if end < count, base[end] == UInt8(ascii: "\"") {
            index = end + 1
            return .raw(UnsafeBufferPointer(start: base + start, count: end - start))
        }
        // Escapes or problems: take the general path.
        return .decoded(try parseString())
    }

    /// Parses a JSON string starting at its opening quote.
    mutating func parseString() throws(EventRejection) -> String {
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

    mutating func parseHex4() throws(EventRejection) -> UInt32 {
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

    func makeString(_ bytes: UnsafeBufferPointer<UInt8>) throws(EventRejection) -> String {
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw EventRejection("The message is not valid UTF-8.")
        }
        return text
    }

    mutating func expectLiteral(_ literal: StaticString) throws(EventRejection) {
        let length = literal.utf8CodeUnitCount
        guard index + length <= count else { throw syntaxError("unexpected end of input") }
        let expected = literal.utf8Start
        for offset in 0..<length where base[index + offset] != expected[offset] {
            throw syntaxError("invalid literal")
        }
        index += length
    }

    mutating func skipNumber() throws(EventRejection) {
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

    /// Skips the members of an object or array (the cursor on its opening bracket): `lead` reads
    /// what comes before each value (an object's key and colon), then the value is skipped.
    private mutating func skipMembers(closing: UInt8, depth: Int, maxDepth: Int,
                                      lead: (inout JSONScanner) throws(EventRejection) -> Void) throws(EventRejection)
    {
        index += 1
        skipWhitespace()
        if peek() == closing {
            index += 1
            return
        }
        let container = closing == UInt8(ascii: "}") ? "an object" : "an array"
        while true {
            skipWhitespace()
            try lead(&self)
            try skipValue(depth: depth + 1, maxDepth: maxDepth)
            skipWhitespace()
            if peek() == UInt8(ascii: ",") {
                index += 1
                continue
            }
            if peek() == closing {
                index += 1
                return
            }
            throw syntaxError("expected ',' or '\(Character(Unicode.Scalar(closing)))' in \(container)")
        }
    }

    /// Skips any JSON value (for unknown fields), bounded in nesting depth.
    mutating func skipValue(depth: Int, maxDepth: Int) throws(EventRejection) {
        guard depth <= maxDepth else {
            throw EventRejection("The event nests deeper than \(maxDepth) levels.")
        }
        switch peek() {
        case UInt8(ascii: "\""):
            _ = try parseString()
        case UInt8(ascii: "{"):
            try skipMembers(closing: UInt8(ascii: "}"), depth: depth, maxDepth: maxDepth) { scanner throws(EventRejection) in
                guard scanner.peek() == UInt8(ascii: "\"") else { throw scanner.syntaxError("expected a field name") }
                _ = try scanner.parseString()
                scanner.skipWhitespace()
                guard scanner.peek() == UInt8(ascii: ":") else { throw scanner.syntaxError("expected ':' after a field name") }
                scanner.index += 1
                scanner.skipWhitespace()
            }
        case UInt8(ascii: "["):
            try skipMembers(closing: UInt8(ascii: "]"), depth: depth, maxDepth: maxDepth) { _ throws(EventRejection) in }
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

    /// What an integer field held.
    enum IntegerScan {
        case value(Int64)
        /// A number with a fraction or exponent (skipped).
        case fractional
        case overflow
    }

    /// Scans an integer at the cursor (the caller checked it starts with '-' or a digit).
    mutating func scanInteger() throws(EventRejection) -> IntegerScan {
        let start = index
        let negative = peek() == UInt8(ascii: "-")
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
            return .fractional
        }
        if digits > 1 && base[start + (negative ? 1 : 0)] == UInt8(ascii: "0") {
            throw syntaxError("numbers must not have leading zeros")
        }
        if overflow { return .overflow }
        return .value(negative ? -value : value)
    }

    mutating func consumeNull() throws(EventRejection) -> Bool {
        guard peek() == UInt8(ascii: "n") else { return false }
        try expectLiteral("null")
        return true
    }

    // MARK: Errors

    func describeNext() -> String {
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

    func typeError(_ field: Field, expected: String, found: String? = nil) -> EventRejection {
        let actual = found ?? describeNext()
        if actual == Self.notAValue {
            // Not a wrong type but broken JSON (e.g. a truncated message).
            return syntaxError("expected a value for '\(field.rawValue)'")
        }
        return EventRejection("Field '\(field.rawValue)' must be \(expected), not \(actual).")
    }

    static let notAValue = "not a JSON value"

    func syntaxError(_ problem: String) -> EventRejection {
        if index >= count {
            return EventRejection("The message is not valid JSON: \(problem) at the end of the input.")
        }
        let byte = base[index]
        let shown = byte >= 0x20 && byte < 0x7F ? "'\(Character(Unicode.Scalar(byte)))'" : "byte 0x\(String(byte, radix: 16))"
        return EventRejection("The message is not valid JSON: \(problem) at offset \(index) (found \(shown)).")
    }
}
