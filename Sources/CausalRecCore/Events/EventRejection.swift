/// Why an input message is not a valid event. `reason` is one sentence for the dead-letter
/// `error` header and the logs.
public struct EventRejection: Error, Sendable, Equatable, CustomStringConvertible {
    public var reason: String

    public init(_ reason: String) {
        self.reason = reason
    }

    public var description: String { reason }
}
