import CausalRecCore
@testable import CausalRecPipeline
import Foundation
import Logging
import Synchronization
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A blocking HTTP/1.1 exchange over a raw socket: what a probe or a hostile client does, with
/// full control over what is sent and how long to wait.
enum RawHTTP {
    struct Response {
        var status: Int
        var body: String
    }

    /// Connects to `host:port`; nil when the connection is refused.
    static func connect(host: String = "127.0.0.1", port: Int, timeout: TimeInterval = 10) -> Int32? {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { return nil }
        var time = timeval(tv_sec: Int(timeout), tv_usec: Int((timeout - floor(timeout)) * 1e6))
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &time, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        inet_pton(AF_INET, host, &address.sin_addr)
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else {
            close(descriptor)
            return nil
        }
        return descriptor
    }

    static func send(_ descriptor: Int32, _ text: String) {
        let bytes = Array(text.utf8)
        var sent = 0
        while sent < bytes.count {
            let count = bytes[sent...].withUnsafeBytes { Glibc.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard count > 0 else { return }
            sent += count
        }
    }

    /// Reads until the peer closes or the receive timeout passes; nil when nothing came.
    static func readAll(_ descriptor: Int32) -> String? {
        var data: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = recv(descriptor, &buffer, buffer.count, 0)
            if count <= 0 { break }
            data += buffer[0..<count]
        }
        return data.isEmpty ? nil : String(decoding: data, as: UTF8.self)
    }

    /// Whether the server has neither closed the connection nor written to it (without waiting).
    static func isOpen(_ descriptor: Int32) -> Bool {
        var byte: UInt8 = 0
        let count = recv(descriptor, &byte, 1, Int32(MSG_PEEK | MSG_DONTWAIT))
        return count < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)
    }

    static func parse(_ text: String) -> Response? {
        guard let line = text.split(separator: "\r\n").first, line.hasPrefix("HTTP/1.1 "),
              let status = Int(line.dropFirst(9).prefix(3)) else { return nil }
        let body = text.components(separatedBy: "\r\n\r\n").dropFirst().joined(separator: "\r\n\r\n")
        return Response(status: status, body: body)
    }

    static func get(_ path: String, port: Int, timeout: TimeInterval = 10) -> Response? {
        guard let descriptor = connect(port: port, timeout: timeout) else { return nil }
        defer { close(descriptor) }
        send(descriptor, "GET \(path) HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n")
        return readAll(descriptor).flatMap(parse)
    }
}

@Suite("The HTTP endpoint under load and abuse", .serialized)
struct HTTPEndpointTests {
    static func start(limits: HTTPEndpointLimits = HTTPEndpointLimits()) async throws -> (HTTPEndpoint, LiveState) {
        let live = LiveState(configuration: RecommenderConfiguration())
        live.withExclusiveAccess { recommender in
            _ = recommender.step(.impression(Impression(user: "u1", items: ["a", "b"], timestamp: 1_700_000_000_000)), fallbackTimestamp: 0)
        }
        let status = ServiceStatus()
        status.update { $0.assignedPartitions = 1 }
        let routes = HTTPRoutes(metrics: ServiceMetrics(), status: status, live: live, maxK: 1_000, samplerName: "random")
        let endpoint = try await HTTPEndpoint.start(host: "127.0.0.1", port: 0, routes: routes, limits: limits, logger: Logger(label: "http"))
        return (endpoint, live)
    }

    /// Waits (up to 20 s) until the endpoint holds `regular` connections in regular places: the
    /// server accepts in its own time.
    static func waitForConnections(_ endpoint: HTTPEndpoint, regular: Int) async throws {
        for _ in 0..<400 {
            if try await endpoint.connectionCounts().regular == regular { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        Issue.record("the endpoint holds \(try await endpoint.connectionCounts().regular) connections, not \(regular)")
    }

    @Test("while a batch holds the model, /health, /ready and /metrics still answer, and the query answers after it")
    func probesDoNotWaitForTraining() async throws {
        let (endpoint, live) = try await Self.start()
        let port = endpoint.port
        final class Flag: Sendable { let value = Atomic<Bool>(false) }
        let released = Flag()
        let holding = DispatchSemaphore(value: 0)
        let probed = DispatchSemaphore(value: 0)
        // A long training batch: the loop thread holds the model's lock until the probes are done
        // (at most 30 s), so the check does not depend on how fast a loaded machine runs them.
        let batch = Thread {
            live.withExclusiveAccess { _ in
                holding.signal()
                _ = probed.wait(timeout: .now() + 30)
                released.value.store(true, ordering: .releasing)
            }
        }
        batch.start()
        holding.wait()
        // Queries that need the model wait for the batch (several, to occupy the query threads;
        // on threads of their own, since they block)...
        let answers = Mutex<[Int?]>([])
        let finished = DispatchSemaphore(value: 0)
        for _ in 0..<3 {
            Thread {
                let status = RawHTTP.get("/recommendations?user=u1&k=2", port: port, timeout: 60)?.status
                answers.withLock { $0.append(status) }
                finished.signal()
            }.start()
        }
        // ...while the probes are answered during the batch.
        for path in ["/health", "/ready", "/metrics"] {
            let response = RawHTTP.get(path, port: port, timeout: 20)
            #expect(response?.status == 200, "\(path): \(String(describing: response))")
            let answeredAfterBatch = released.value.load(ordering: .acquiring)
            #expect(!answeredAfterBatch, "\(path) was answered only after the batch")
        }
        #expect(answers.withLock { $0.isEmpty }, "a query was answered while the batch held the model")
        probed.signal()
        for _ in 0..<3 { finished.wait() }
        let batchDone = released.value.load(ordering: .acquiring)
        #expect(batchDone)
        #expect(answers.withLock { $0 } == [200, 200, 200])
        await endpoint.shutdown()
    }

    @Test("an idle connection is closed; beyond the cap a probe is answered and another request closes the longest-idle connection; an oversized request gets 413")
    func limits() async throws {
        var limits = HTTPEndpointLimits()
        limits.idleTimeout = .milliseconds(300)
        let (idleEndpoint, _) = try await Self.start(limits: limits)

        // Idle: a connection that never sends a request is closed by the server.
        let idle = try #require(RawHTTP.connect(port: idleEndpoint.port, timeout: 5))
        let started = Date()
        #expect(RawHTTP.readAll(idle) == nil)
        #expect(Date().timeIntervalSince(started) < 4, "the idle connection was not closed by the server")
        close(idle)
        await idleEndpoint.shutdown()

        limits.idleTimeout = .seconds(60)
        limits.requestTimeout = .seconds(60)
        limits.maxConnections = 3
        limits.maxRequestBytes = 1_024
        let (endpoint, _) = try await Self.start(limits: limits)
        let port = endpoint.port

        // Cap: three silent connections fill it. A fourth asking for /health is answered beside
        // them (and closes nothing); one asking for anything else takes the place of the first of
        // them, the longest idle.
        var held: [Int32] = []
        for expected in 1...3 {
            held.append(try #require(RawHTTP.connect(port: port, timeout: 5)))
            try await Self.waitForConnections(endpoint, regular: expected)
        }
        #expect(RawHTTP.get("/health", port: port)?.status == 200, "a probe beyond the cap was not answered")
        #expect(held.allSatisfy { RawHTTP.isOpen($0) }, "a probe closed a connection")
        #expect(RawHTTP.get("/recommendations?user=u1&k=2", port: port)?.status == 200, "a request beyond the cap was not answered")
        #expect(RawHTTP.readAll(held[0]) == nil, "the longest-idle connection was not closed")
        #expect(RawHTTP.isOpen(held[1]) && RawHTTP.isOpen(held[2]), "a connection other than the longest-idle one was closed")
        for descriptor in held { close(descriptor) }

        // Size: a long target or a large body is refused with 413 and the connection closed.
        #expect(RawHTTP.get("/recommendations?user=" + String(repeating: "x", count: 5_000), port: port)?.status == 413)
        let body = try #require(RawHTTP.connect(port: port))
        RawHTTP.send(body, "POST /health HTTP/1.1\r\nHost: t\r\nContent-Length: 100000\r\n\r\n" + String(repeating: "y", count: 100_000))
        #expect(RawHTTP.readAll(body).flatMap(RawHTTP.parse)?.status == 413)
        close(body)
        await endpoint.shutdown()
    }

    @Test("by default the endpoint listens on loopback only")
    func loopbackByDefault() async throws {
        let configuration = PipelineConfiguration()
        #expect(configuration.http.host == "127.0.0.1")
        let parsed = try PipelineConfiguration.parse(yaml: "http:\n  enabled: true\n")
        #expect(parsed.http.host == "127.0.0.1" && parsed.http.port == 9464)
        let live = LiveState(configuration: RecommenderConfiguration())
        let routes = HTTPRoutes(metrics: ServiceMetrics(), status: ServiceStatus(), live: live, maxK: 1_000, samplerName: "random")
        let endpoint = try await HTTPEndpoint.start(host: parsed.http.host, port: 0, routes: routes, limits: parsed.http.limits,
                                                    logger: Logger(label: "http"))
        #expect(endpoint.boundAddress == "127.0.0.1")
        #expect(RawHTTP.get("/health", port: endpoint.port)?.status == 200)
        // Through any other interface of this machine the port is closed.
        for address in Self.nonLoopbackAddresses() {
            let descriptor = RawHTTP.connect(host: address, port: endpoint.port, timeout: 2)
            #expect(descriptor == nil, "reachable on \(address)")
            if let descriptor { close(descriptor) }
        }
        await endpoint.shutdown()
    }

    static func nonLoopbackAddresses() -> [String] {
        var result: [String] = []
        var list: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&list) == 0 else { return [] }
        defer { freeifaddrs(list) }
        var cursor = list
        while let entry = cursor {
            defer { cursor = entry.pointee.ifa_next }
            guard let address = entry.pointee.ifa_addr, address.pointee.sa_family == sa_family_t(AF_INET) else { continue }
            var text = [CChar](repeating: 0, count: Int(INET_ADDRSTRLEN))
            address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { inet in
                var value = inet.pointee.sin_addr
                inet_ntop(AF_INET, &value, &text, socklen_t(INET_ADDRSTRLEN))
            }
            let string = String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if !string.hasPrefix("127.") { result.append(string) }
        }
        return result
    }
}
