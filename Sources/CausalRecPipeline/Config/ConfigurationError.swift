/// A configuration problem, naming the key path and what is wrong with it. Start-up stops with
/// exit code 2 when one is found.
public struct ConfigurationError: Error, CustomStringConvertible, Equatable, Sendable {
    /// Dotted key path, e.g. `model.dimension`; empty for the document itself.
    public var path: String
    public var reason: String
    /// 1-based line in the file, when known.
    public var line: Int?

    public init(path: String, reason: String, line: Int? = nil) {
        self.path = path
        self.reason = reason
        self.line = line
    }

    public var description: String {
        let location = line.map { " (line \($0))" } ?? ""
        return path.isEmpty ? "configuration\(location): \(reason)" : "\(path)\(location): \(reason)"
    }
}
