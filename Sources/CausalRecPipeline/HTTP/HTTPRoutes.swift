import CausalRecCore
import Foundation

/// An HTTP response before it is framed: status, content type and body.
struct HTTPReply: Sendable, Equatable {
    var status: Int
    var contentType: String
    var body: [UInt8]

    static func json(_ status: Int, _ body: [UInt8]) -> HTTPReply {
        HTTPReply(status: status, contentType: "application/json", body: body)
    }

    static func text(_ status: Int, _ text: String) -> HTTPReply {
        HTTPReply(status: status, contentType: "text/plain; charset=utf-8", body: Array(text.utf8))
    }
}

/// The endpoint's routes, independent of the transport (tests call `reply` directly):
/// `/metrics`, `/health`, `/ready`, `/recommendations?user=U&k=K`.
struct HTTPRoutes: Sendable {
    let metrics: ServiceMetrics
    let status: ServiceStatus
    let live: LiveState
    let maxK: Int
    let samplerName: String

    /// Whether answering takes the model's lock (and so must not run on the event loop).
    func needsModel(uri: String) -> Bool {
        URLComponents(string: uri)?.path == "/recommendations"
    }

    /// Whether the orchestrator or the monitoring asks: answered on the loop at once, even beyond
    /// the connection caps.
    func isProbe(uri: String) -> Bool {
        switch URLComponents(string: uri)?.path {
        case "/health", "/ready", "/metrics": true
        default: false
        }
    }

    func reply(method: String, uri: String) -> HTTPReply {
        guard let components = URLComponents(string: uri) else { return .text(400, "bad request target\n") }
        guard method == "GET" || method == "HEAD" else { return .text(405, "only GET is served here\n") }
        switch components.path {
        case "/metrics":
            return HTTPReply(status: 200, contentType: "text/plain; version=0.0.4; charset=utf-8", body: metrics.exposition())
        case "/health":
            return .json(200, Array(#"{"status":"alive"}"#.utf8))
        case "/ready":
            let snapshot = status.snapshot
            if let reason = snapshot.notReadyReason(nowSeconds: status.nowSeconds) {
                var writer = JSONWriter()
                writer.beginObject()
                writer.key("ready")
                writer.boolean(false)
                writer.key("reason")
                writer.string(reason)
                writer.endObject()
                return .json(503, writer.bytes)
            }
            guard !snapshot.warnings.isEmpty else { return .json(200, Array(#"{"ready":true}"#.utf8)) }
            var writer = JSONWriter()
            writer.beginObject()
            writer.key("ready")
            writer.boolean(true)
            writer.key("warnings")
            writer.beginArray()
            for warning in snapshot.warnings { writer.string(warning) }
            writer.endArray()
            writer.endObject()
            return .json(200, writer.bytes)
        case "/recommendations":
            return recommendations(components.queryItems ?? [])
        default:
            return .text(404, "not found; try /metrics, /health, /ready or /recommendations?user=U&k=K\n")
        }
    }

    private func recommendations(_ query: [URLQueryItem]) -> HTTPReply {
        let started = ContinuousClock.now
        defer { metrics.queryDuration.record(ContinuousClock.now - started) }
        guard let user = query.first(where: { $0.name == "user" })?.value, !user.isEmpty else {
            return error(400, "the query needs user=<id>")
        }
        var k = 20
        if let text = query.first(where: { $0.name == "k" })?.value {
            guard let value = Int(text), (1...maxK).contains(value) else { return error(400, "k must be an integer in 1...\(maxK)") }
            k = value
        }
        let now = Int64(Date().timeIntervalSince1970 * 1_000)
        switch live.query(user: user, k: k, at: now) {
        case let .notOwned(partition):
            return error(421, "user '\(user)' belongs to partition \(partition), which another instance of the group owns")
        case let .recommendation(recommendation):
            return .json(200, RecommendationPublisher.encode(recommendation, sampler: samplerName, source: nil))
        }
    }

    private func error(_ status: Int, _ message: String) -> HTTPReply {
        var writer = JSONWriter()
        writer.beginObject()
        writer.key("error")
        writer.string(message)
        writer.endObject()
        return .json(status, writer.bytes)
    }
}
