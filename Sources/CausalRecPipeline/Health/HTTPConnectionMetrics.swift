import CoreMetrics
import Prometheus

/// What the HTTP endpoint did to hold its limits: requests refused by which cap, connections
/// closed to make room, and requests that did not arrive in time. No label carries an address.
final class HTTPConnectionMetrics: Sendable {
    /// Answered 503 (or closed at accept when not even a reserved place was free), by the cap that was full.
    let refused: [ConnectionRefusal: CoreMetrics.Counter]
    /// Closed to make room: the longest-idle connection at the cap, or the oldest reserved one.
    let evicted: CoreMetrics.Counter
    /// Closed with 408 because the request was not complete within the request timeout.
    let requestTimeouts: CoreMetrics.Counter

    init(factory: PrometheusMetricsFactory) {
        refused = Dictionary(uniqueKeysWithValues: ConnectionRefusal.allCases.map {
            ($0, CoreMetrics.Counter(label: "causalrec_http_connections_refused_total", dimensions: [("reason", $0.rawValue)], factory: factory))
        })
        evicted = CoreMetrics.Counter(label: "causalrec_http_connections_evicted_total", factory: factory)
        requestTimeouts = CoreMetrics.Counter(label: "causalrec_http_request_timeouts_total", factory: factory)
    }
}

/// Which cap kept a connection out of the regular places.
enum ConnectionRefusal: String, CaseIterable, Sendable {
    /// Its remote address already held `maxConnectionsPerPeer` connections.
    case peerLimit = "peer_limit"
    /// `maxConnections` were open and none of them could be closed to make room.
    case connectionLimit = "connection_limit"
}
