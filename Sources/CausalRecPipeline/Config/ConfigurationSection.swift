import Yams

/// Reads one YAML mapping strictly: every key must be read by the caller, types must match
/// exactly, numbers must be in range, and `finish()` rejects keys nobody asked for — so a typo
/// stops start-up with its path instead of being silently ignored.
final class ConfigurationSection {
    let path: String
    private let entries: [(key: String, value: Node)]
    private let mark: Mark?
    private var known: [String] = []

    init(path: String, node: Node?) throws {
        self.path = path
        mark = node?.mark
        guard let node else {
            entries = []
            return
        }
        if case .scalar = node, node.null != nil {
            entries = []
            return
        }
        guard let mapping = node.mapping else {
            throw ConfigurationError(path: path, reason: "must be a mapping of keys to values, not \(Self.describe(node))", line: node.mark?.line)
        }
        var result: [(String, Node)] = []
        var seen = Set<String>()
        for (key, value) in mapping {
            guard let name = key.scalar?.string else {
                throw ConfigurationError(path: path, reason: "keys must be plain strings", line: key.mark?.line)
            }
            guard seen.insert(name).inserted else {
                throw ConfigurationError(path: Self.join(path, name), reason: "appears more than once", line: key.mark?.line)
            }
            result.append((name, value))
        }
        entries = result
    }

    static func join(_ path: String, _ key: String) -> String {
        path.isEmpty ? key : "\(path).\(key)"
    }

    private func node(_ key: String) -> Node? {
        known.append(key)
        return entries.first { $0.key == key }?.value
    }

    private func error(_ key: String, _ reason: String, _ node: Node?) -> ConfigurationError {
        ConfigurationError(path: Self.join(path, key), reason: reason, line: node?.mark?.line ?? mark?.line)
    }

    static func describe(_ node: Node) -> String {
        switch node {
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .alias: return "an alias"
        case .scalar:
            if node.null != nil { return "null" }
            if node.bool != nil { return "a boolean (\(node.scalar!.string))" }
            if node.int != nil { return "an integer (\(node.scalar!.string))" }
            if node.float != nil { return "a number (\(node.scalar!.string))" }
            return "the string '\(node.scalar!.string)'"
        }
    }

    private func isPlainString(_ node: Node) -> Bool {
        guard let scalar = node.scalar else { return false }
        if scalar.style == .singleQuoted || scalar.style == .doubleQuoted { return true }
        return node.null == nil && node.bool == nil && node.int == nil && node.float == nil
    }

    func string(_ key: String, default defaultValue: String, allowEmpty: Bool = false) throws -> String {
        guard let value = node(key) else { return defaultValue }
        guard isPlainString(value), let text = value.scalar?.string else {
            throw error(key, "must be a string, not \(Self.describe(value))", value)
        }
        if !allowEmpty && text.isEmpty { throw error(key, "must not be empty", value) }
        return text
    }

    func integer(_ key: String, default defaultValue: Int, range: ClosedRange<Int>, unit: String = "") throws -> Int {
        guard let value = node(key) else { return defaultValue }
        guard value.scalar != nil, value.bool == nil, let number = value.int else {
            throw error(key, "must be an integer, not \(Self.describe(value))", value)
        }
        guard range.contains(number) else {
            throw error(key, "must be between \(range.lowerBound) and \(range.upperBound)\(unit.isEmpty ? "" : " " + unit), got \(number)", value)
        }
        return number
    }

    func number(_ key: String, default defaultValue: Double, range: ClosedRange<Double>, unit: String = "") throws -> Double {
        guard let value = node(key) else { return defaultValue }
        guard value.scalar != nil, value.bool == nil, let number = value.float, number.isFinite else {
            throw error(key, "must be a number, not \(Self.describe(value))", value)
        }
        guard range.contains(number) else {
            throw error(key, "must be between \(range.lowerBound) and \(range.upperBound)\(unit.isEmpty ? "" : " " + unit), got \(number)", value)
        }
        return number
    }

    func boolean(_ key: String, default defaultValue: Bool) throws -> Bool {
        guard let value = node(key) else { return defaultValue }
        guard let flag = value.bool, value.int == nil else {
            throw error(key, "must be true or false, not \(Self.describe(value))", value)
        }
        return flag
    }

    func choice<T: RawRepresentable & CaseIterable>(_ key: String, default defaultValue: T) throws -> T where T.RawValue == String {
        let text = try string(key, default: defaultValue.rawValue)
        guard let result = T(rawValue: text) else {
            let options = T.allCases.map(\.rawValue).joined(separator: ", ")
            throw error(key, "must be one of \(options), got '\(text)'", entries.first { $0.key == key }?.value)
        }
        return result
    }

    /// A number or a list of numbers, each in `range` (a list may be empty only if `allowEmpty`).
    func numberList(_ key: String, default defaultValue: [Double], range: ClosedRange<Double>, allowEmpty: Bool = true) throws -> [Double] {
        guard let value = node(key) else { return defaultValue }
        let elements = value.sequence.map(Array.init) ?? [value]
        if elements.isEmpty && !allowEmpty { throw error(key, "must not be an empty list", value) }
        return try elements.enumerated().map { index, element in
            let where_ = value.sequence == nil ? Self.join(path, key) : "\(Self.join(path, key))[\(index)]"
            guard element.scalar != nil, element.bool == nil, let number = element.float, number.isFinite else {
                throw ConfigurationError(path: where_, reason: "must be a number, not \(Self.describe(element))", line: element.mark?.line)
            }
            guard range.contains(number) else {
                throw ConfigurationError(path: where_, reason: "must be between \(range.lowerBound) and \(range.upperBound), got \(number)",
                                         line: element.mark?.line)
            }
            return number
        }
    }

    /// A string or a list of strings.
    func stringList(_ key: String) throws -> [String]? {
        guard let value = node(key) else { return nil }
        if let sequence = value.sequence {
            return try sequence.enumerated().map { index, element in
                guard isPlainString(element), let text = element.scalar?.string, !text.isEmpty else {
                    throw ConfigurationError(path: "\(Self.join(path, key))[\(index)]",
                                             reason: "must be a non-empty string, not \(Self.describe(element))",
                                             line: element.mark?.line)
                }
                return text
            }
        }
        guard isPlainString(value), let text = value.scalar?.string else {
            throw error(key, "must be a string or a list of strings, not \(Self.describe(value))", value)
        }
        return [text]
    }

    /// A mapping of names to scalar values, kept as strings (for pass-through settings).
    func stringMap(_ key: String) throws -> [String: String] {
        let section = try self.section(key)
        var result: [String: String] = [:]
        for (name, value) in section.entries {
            section.known.append(name)
            guard let scalar = value.scalar, value.null == nil else {
                throw ConfigurationError(path: Self.join(section.path, name),
                                         reason: "must be a single value, not \(Self.describe(value))", line: value.mark?.line)
            }
            result[name] = scalar.string
        }
        return result
    }

    func section(_ key: String) throws -> ConfigurationSection {
        try ConfigurationSection(path: Self.join(path, key), node: node(key))
    }

    /// Reads the sub-section `key` through `body`, then rejects any of its keys `body` did not read.
    func section(_ key: String, _ body: (ConfigurationSection) throws -> Void) throws {
        let section = try section(key)
        try body(section)
        try section.finish()
    }

    /// Rejects keys that were never read.
    func finish() throws {
        for (key, value) in entries where !known.contains(key) {
            let options = known.sorted().joined(separator: ", ")
            throw ConfigurationError(path: Self.join(path, key), reason: "is not a known setting (known here: \(options))",
                                     line: value.mark?.line)
        }
    }
}
