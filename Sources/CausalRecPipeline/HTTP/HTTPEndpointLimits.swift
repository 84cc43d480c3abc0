import CausalRecCore
/// Limits of the HTTP endpoint: a client cannot hold it open, flood it, or send it megabytes, and
/// none of that keeps the orchestrator's probes from being answered.
public struct HTTPEndpointLimits: Sendable, Equatable {
    /// Connections open at once. At the cap a new connection does not wait: it is answered if it
    /// asks for a probe path, and otherwise it takes the place of the longest-idle connection.
    public var maxConnections = 64
    /// Connections one remote address may hold; beyond it only probe paths are answered (503
    /// otherwise). Behind a local proxy every client is the same address.
    public var maxConnectionsPerPeer = 16
    /// Connections held beyond the caps until their request head shows what they ask for, so a
    /// probe is answered even while slow clients fill the caps. When they are all taken, the one
    /// accepted first goes (a probe sends its request at once, so that is not the probe).
    public var reservedConnections = 8
    /// A request (head and any body) must be complete this long after the connection was accepted,
    /// or, on a kept-alive connection, after the request's first byte; otherwise 408 and closed.
    /// Unlike the idle timeout, sending a byte now and then does not extend it.
    public var requestTimeout: Duration = .seconds(5)
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
        limits.maxConnectionsPerPeer = maxConnectionsPerPeer
        limits.requestTimeout = .seconds(fractional: requestTimeoutSeconds)
        limits.idleTimeout = .seconds(fractional: idleTimeoutSeconds)
        limits.maxRequestBytes = maxRequestBytes
        return limits
    }
}
