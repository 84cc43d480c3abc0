@testable import CausalRecPipeline
import Foundation
import Synchronization
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Clients that send a request head a line at a time and never finish it: the slow client that
/// used to hold the endpoint's connections, and its probes with them, for as long as it liked.
final class Tricklers: Sendable {
    let descriptors: [Int32]
    private let started = Atomic<Bool>(false)
    private let stopped = Atomic<Bool>(false)
    private let finished = DispatchSemaphore(value: 0)

    /// Connects `count` clients one after another, each sending the first line of a request.
    init(count: Int, port: Int) {
        descriptors = (0..<count).compactMap { _ in
            guard let descriptor = RawHTTP.connect(port: port, timeout: 5) else { return nil }
            RawHTTP.send(descriptor, "GET /recommendations?user=u1&k=2 HTTP/1.1\r\n")
            return descriptor
        }
    }

    /// Sends one more header line on every connection, the ones the server closed included.
    func sendLine() {
        for descriptor in descriptors { RawHTTP.send(descriptor, "X-Slow: 1\r\n") }
    }

    /// Sends a line on each connection every `interval` (on a thread of its own) until `stop`.
    func start(every interval: TimeInterval) {
        started.store(true, ordering: .releasing)
        Thread { [self] in
            while !stopped.load(ordering: .acquiring) {
                sendLine()
                Thread.sleep(forTimeInterval: interval)
            }
            finished.signal()
        }.start()
    }

    /// Connections the server has neither closed nor answered.
    var openCount: Int { descriptors.count(where: { RawHTTP.isOpen($0) }) }

    func stop() {
        stopped.store(true, ordering: .releasing)
        if started.load(ordering: .acquiring) { finished.wait() }
        for descriptor in descriptors { close(descriptor) }
    }
}

extension RawHTTP {
    /// One exchange on a kept-alive connection: reads the head and `Content-Length` bytes of body.
    static func exchange(_ descriptor: Int32, _ path: String) -> Response? {
        send(descriptor, "GET \(path) HTTP/1.1\r\nHost: test\r\n\r\n")
        var data: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let text = String(decoding: data, as: UTF8.self)
            if let end = text.range(of: "\r\n\r\n") {
                let length = text[..<end.lowerBound].split(separator: "\r\n")
                    .first { $0.lowercased().hasPrefix("content-length:") }
                    .flatMap { Int($0.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) } ?? 0
                if text.utf8.count - text.utf8.distance(from: text.startIndex, to: end.upperBound) >= length { return parse(text) }
            }
            let count = recv(descriptor, &buffer, buffer.count, 0)
            if count <= 0 { return nil }
            data += buffer[0..<count]
        }
    }

    /// The value of an unlabelled or labelled sample in `/metrics`.
    static func metric(_ sample: String, port: Int) -> String? {
        get("/metrics", port: port)?.body.split(separator: "\n")
            .first { $0.hasPrefix(sample + " ") }
            .map { String($0.dropFirst(sample.count + 1)) }
    }
}

extension HTTPEndpointTests {
    /// Limits for the connection tests: requests and idle connections last as long as the test
    /// needs, unless a test shortens them.
    static func patientLimits() -> HTTPEndpointLimits {
        var limits = HTTPEndpointLimits()
        limits.requestTimeout = .seconds(60)
        limits.idleTimeout = .seconds(60)
        return limits
    }

    @Test("64 trickling clients (max_connections) do not keep /health, /ready and /metrics from answering, and the probes close none of them")
    func probesBesideAFullCap() async throws {
        var limits = Self.patientLimits()
        limits.maxConnectionsPerPeer = 1_000
        let (endpoint, _) = try await Self.start(limits: limits)
        let tricklers = Tricklers(count: limits.maxConnections, port: endpoint.port)
        #expect(tricklers.descriptors.count == limits.maxConnections)
        try await Self.waitForConnections(endpoint, regular: limits.maxConnections)
        tricklers.start(every: 0.2)
        for _ in 0..<3 {
            for path in ["/health", "/ready", "/metrics"] {
                let response = RawHTTP.get(path, port: endpoint.port)
                #expect(response?.status == 200, "\(path): \(String(describing: response))")
            }
        }
        #expect(tricklers.openCount == limits.maxConnections, "a probe closed a trickling connection")
        #expect(try await endpoint.connectionCounts().regular == limits.maxConnections)
        tricklers.stop()
        await endpoint.shutdown()
    }

    @Test("1,000 trickling connections from one address do not keep the probes from answering", arguments: [16, 1_000])
    func probesBesideAThousandTricklers(perPeer: Int) async throws {
        var limits = Self.patientLimits()
        limits.maxConnectionsPerPeer = perPeer
        let (endpoint, _) = try await Self.start(limits: limits)
        let tricklers = Tricklers(count: 1_000, port: endpoint.port)
        #expect(tricklers.descriptors.count == 1_000)
        let regular = min(limits.maxConnections, perPeer)
        try await Self.waitForConnections(endpoint, regular: regular)
        tricklers.start(every: 0.2)
        for _ in 0..<3 {
            for path in ["/health", "/ready"] {
                let response = RawHTTP.get(path, port: endpoint.port)
                #expect(response?.status == 200, "\(path): \(String(describing: response))")
            }
        }
        let counts = try await endpoint.connectionCounts()
        #expect(counts.regular == regular)
        #expect(counts.reserved <= limits.reservedConnections)
        let evicted = RawHTTP.metric("causalrec_http_connections_evicted_total", port: endpoint.port)
        print("per-peer cap \(perPeer): of 1000 trickling connections \(tricklers.openCount) still open, " +
              "\(counts.regular) regular and \(counts.reserved) reserved on the server, \(evicted ?? "?") evicted; probes answered 200")
        tricklers.stop()
        await endpoint.shutdown()
    }

    @Test("a request head trickled a line at a time is closed with 408 at the request deadline; a kept-alive connection may wait longer between requests")
    func requestDeadline() async throws {
        var limits = Self.patientLimits()
        limits.requestTimeout = .milliseconds(500)
        let (endpoint, _) = try await Self.start(limits: limits)

        let trickler = try #require(RawHTTP.connect(port: endpoint.port, timeout: 5))
        let started = Date()
        RawHTTP.send(trickler, "GET /health HTTP/1.1\r\n")
        // A line every 100 ms: the idle timeout (60 s) would never close it.
        var lines = 0
        while RawHTTP.isOpen(trickler), lines < 100 {
            RawHTTP.send(trickler, "X-Slow: 1\r\n")
            lines += 1
            try await Task.sleep(for: .milliseconds(100))
        }
        let elapsed = Date().timeIntervalSince(started)
        #expect(RawHTTP.readAll(trickler).flatMap(RawHTTP.parse)?.status == 408, "the trickling request was not closed with 408")
        #expect(elapsed >= 0.5, "closed after \(elapsed) s, before the deadline")
        close(trickler)
        #expect(RawHTTP.metric("causalrec_http_request_timeouts_total", port: endpoint.port) == "1")

        // The deadline runs from a request's first byte: waiting between requests is the idle timeout's business.
        let kept = try #require(RawHTTP.connect(port: endpoint.port, timeout: 5))
        #expect(RawHTTP.exchange(kept, "/health")?.status == 200)
        try await Task.sleep(for: .seconds(1))
        #expect(RawHTTP.exchange(kept, "/ready")?.status == 200, "a kept-alive connection was closed between requests")
        close(kept)
        await endpoint.shutdown()
    }

    @Test("an address beyond its connection cap is refused with 503, but its probes are answered")
    func perPeerCap() async throws {
        var limits = Self.patientLimits()
        limits.maxConnectionsPerPeer = 3
        let (endpoint, _) = try await Self.start(limits: limits)
        let port = endpoint.port
        var held: [Int32] = []
        for expected in 1...3 {
            held.append(try #require(RawHTTP.connect(port: port, timeout: 5)))
            try await Self.waitForConnections(endpoint, regular: expected)
        }
        #expect(RawHTTP.get("/recommendations?user=u1&k=2", port: port)?.status == 503)
        #expect(RawHTTP.get("/health", port: port)?.status == 200)
        #expect(RawHTTP.get("/ready", port: port)?.status == 200)
        #expect(held.allSatisfy { RawHTTP.isOpen($0) }, "a connection of the address was closed")
        #expect(RawHTTP.metric(#"causalrec_http_connections_refused_total{reason="peer_limit"}"#, port: port) == "1")
        #expect(RawHTTP.metric("causalrec_http_connections_evicted_total", port: port) == "0")

        // Once the address holds fewer, it is served again.
        close(held.removeLast())
        try await Self.waitForConnections(endpoint, regular: 2)
        #expect(RawHTTP.get("/recommendations?user=u1&k=2", port: port)?.status == 200)
        for descriptor in held { close(descriptor) }
        await endpoint.shutdown()
    }

    @Test("at the cap a new request closes the longest-idle connection, not the oldest one")
    func longestIdleGoesFirst() async throws {
        var limits = Self.patientLimits()
        limits.maxConnections = 4
        let (endpoint, _) = try await Self.start(limits: limits)
        let port = endpoint.port
        // Oldest: a kept-alive client. Then a silent one, then two trickling ones.
        let oldest = try #require(RawHTTP.connect(port: port, timeout: 5))
        try await Self.waitForConnections(endpoint, regular: 1)
        let silent = try #require(RawHTTP.connect(port: port, timeout: 5))
        try await Self.waitForConnections(endpoint, regular: 2)
        let tricklers = Tricklers(count: 2, port: port)
        try await Self.waitForConnections(endpoint, regular: 4)
        // The oldest one asks something: now the silent one has been idle longest.
        #expect(RawHTTP.exchange(oldest, "/health")?.status == 200)

        #expect(RawHTTP.get("/recommendations?user=u1&k=2", port: port)?.status == 200)
        #expect(RawHTTP.readAll(silent) == nil, "the longest-idle connection was not closed")
        #expect(RawHTTP.isOpen(oldest), "the oldest connection was closed")
        #expect(tricklers.openCount == 2, "a trickling connection was closed")
        #expect(RawHTTP.exchange(oldest, "/ready")?.status == 200)
        #expect(RawHTTP.metric("causalrec_http_connections_evicted_total", port: port) == "1")
        close(oldest)
        close(silent)
        tricklers.stop()
        await endpoint.shutdown()
    }
}
