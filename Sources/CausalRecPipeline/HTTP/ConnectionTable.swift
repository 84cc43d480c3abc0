import Logging
import NIOCore

/// The connections the endpoint holds, and the caps that decide which it accepts, serves, or
/// closes to make room. Lives on the endpoint's single event loop (the child channel initializer
/// and every handler run there), so it needs no lock.
///
/// A connection beyond a cap is not closed at accept, since it may be the orchestrator's probe:
/// it gets a reserved place until its request head shows what it asks for. A probe is then
/// answered; any other request takes a regular place (at the cap by closing the longest-idle
/// connection), unless its address is at its own cap or every regular connection is busy — then 503.
final class ConnectionTable {
    /// What to do with a request whose head has arrived.
    enum Decision: Equatable {
        case serve
        /// Answer, then close: it holds a reserved place, which must be free for the next probe.
        case serveOnce
        case refuse(ConnectionRefusal)
    }

    private let limits: HTTPEndpointLimits
    private let metrics: HTTPConnectionMetrics
    private let logger: Logger
    private var regular: [ObjectIdentifier: TrackedConnection] = [:]
    private var reserved: [ObjectIdentifier: TrackedConnection] = [:]
    /// Connections per remote address, except those reserved because the address was at its cap
    /// (bounded by the reserved places anyway).
    private var perPeer: [String: Int] = [:]

    init(limits: HTTPEndpointLimits, metrics: HTTPConnectionMetrics, logger: Logger) {
        self.limits = limits
        self.metrics = metrics
        self.logger = logger
    }

    var counts: (regular: Int, reserved: Int) { (regular.count, reserved.count) }

    /// Takes an accepted connection into the table; nil when it must be closed at once (only when
    /// every reserved place is answering a probe).
    func admit(_ channel: any Channel) -> TrackedConnection? {
        let peer = channel.remoteAddress?.ipAddress ?? "local"
        let place: TrackedConnection.Place
        if perPeer[peer, default: 0] >= limits.maxConnectionsPerPeer {
            place = .reserved(.peerLimit)
        } else if regular.count >= limits.maxConnections {
            place = .reserved(.connectionLimit)
        } else {
            place = .regular
        }
        if case let .reserved(reason) = place, reserved.count >= limits.reservedConnections {
            // A probe sends its request as soon as it connects, so the reserved connection
            // accepted first, if still silent or incomplete, is the one least likely to be a probe.
            guard let oldest = reserved.values.lazy.filter({ $0.phase != .handling }).min(by: { $0.accepted < $1.accepted }) else {
                metrics.refused[reason]?.increment()
                logger.debug("http connection refused at accept: every reserved place is answering", metadata: ["reason": "\(reason.rawValue)"])
                return nil
            }
            evict(oldest)
        }
        let connection = TrackedConnection(channel: channel, peer: peer, place: place, now: .now())
        if place == .regular {
            regular[ObjectIdentifier(connection)] = connection
        } else {
            reserved[ObjectIdentifier(connection)] = connection
        }
        if place != .reserved(.peerLimit) { perPeer[peer, default: 0] += 1 }
        return connection
    }

    /// Decides on a request whose head has arrived: regular connections are served; a reserved
    /// one is promoted if it can be, answered once if it asks for a probe path, refused otherwise.
    func decide(_ connection: TrackedConnection, isProbe: Bool) -> Decision {
        if connection.place == .reserved(.peerLimit), perPeer[connection.peer, default: 0] < limits.maxConnectionsPerPeer {
            // Its address has closed connections since: it counts as one of them now.
            perPeer[connection.peer, default: 0] += 1
            connection.place = .reserved(.connectionLimit)
        }
        guard case let .reserved(reason) = connection.place else { return .serve }
        // A probe takes a free regular place but never closes another connection for one.
        if reason == .connectionLimit, regular.count < limits.maxConnections || (!isProbe && evictLongestIdle()) {
            reserved[ObjectIdentifier(connection)] = nil
            regular[ObjectIdentifier(connection)] = connection
            connection.place = .regular
            return .serve
        }
        if isProbe { return .serveOnce }
        metrics.refused[reason]?.increment()
        logger.debug("http request refused", metadata: ["reason": "\(reason.rawValue)"])
        return .refuse(reason)
    }

    /// The request deadline of `connection` passed (it is being closed).
    func timedOut(_ connection: TrackedConnection) {
        metrics.requestTimeouts.increment()
        logger.debug("http request not complete within the request timeout; closing the connection",
                     metadata: ["timeout": "\(limits.requestTimeout)"])
    }

    /// Forgets a closed connection (again after an eviction: then nothing happens).
    func remove(_ connection: TrackedConnection) {
        let key = ObjectIdentifier(connection)
        guard regular.removeValue(forKey: key) != nil || reserved.removeValue(forKey: key) != nil else { return }
        guard connection.place != .reserved(.peerLimit), let count = perPeer[connection.peer] else { return }
        perPeer[connection.peer] = count > 1 ? count - 1 : nil
    }

    /// Closes the regular connection idle longest (not one whose answer is being prepared).
    private func evictLongestIdle() -> Bool {
        guard let victim = regular.values.lazy.filter({ $0.phase != .handling }).min(by: { $0.lastActivity < $1.lastActivity }) else {
            return false
        }
        evict(victim)
        return true
    }

    private func evict(_ connection: TrackedConnection) {
        remove(connection)
        metrics.evicted.increment()
        logger.debug("http connection closed to make room", metadata: ["reserved": "\(connection.isReserved)"])
        connection.channel.close(promise: nil)
    }
}
