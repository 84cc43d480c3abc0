import CausalRecCore
/// Limits of the HTTP endpoint: a client cannot hold it open, flood it, or send it megabytes.
public struct HTTPEndpointLimits: Sendable, Equatable {
    /// Connections open at once; more are closed as soon as they are accepted.
    public var maxConnections = 64
    /// A connection with no request in flight and nothing read or written this long is closed.
    public var idleTimeout: Duration = .seconds(30)
    /// Largest request (request line, headers and body); larger ones get 413 and are closed.
    public var maxRequestBytes = 65_536
    /// Threads that run `/recommendations` queries (each may wait for the model lock).
    public var queryThreads = 2

    public init() {}
}

extension PipelineConfiguration.HTTPSettings {
    /// The endpoint's limits from `http.*`.
    var limits: HTTPEndpointLimits {
        var limits = HTTPEndpointLimits()
        limits.maxConnections = maxConnections
        limits.idleTimeout = .seconds(fractional: idleTimeoutSeconds)
        limits.maxRequestBytes = maxRequestBytes
        return limits
    }
}
