import CausalRecCore
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import ServiceLifecycle
import Synchronization

/// The HTTP server of `causalrec run` (SwiftNIO, one event-loop thread): binds at start-up —
/// a port in use stops the service with a message naming it — and serves `HTTPRoutes`.
///
/// The event loop never waits for the model: `/recommendations` runs on a small thread pool
/// (it takes the model's lock, which a training batch may hold for a while), while `/health`,
/// `/ready` and `/metrics` read only atomics and locked counters and are answered on the loop
/// at once — so a long batch never makes the service look dead to its orchestrator.
///
/// A `Service`: bound by `start` (so a port in use stops start-up), then run in the service group,
/// which closes it on graceful shutdown after the event loop (started after it) has drained.
public final class HTTPEndpoint: Service, Sendable {
    private let group: MultiThreadedEventLoopGroup
    private let queries: NIOThreadPool
    private let channel: any Channel
    private let logger: Logger
    /// The address actually bound (port 0 in the configuration picks a free one).
    public let host: String
    public let port: Int

    public struct BindError: Error, CustomStringConvertible {
        public let description: String
    }

    private init(group: MultiThreadedEventLoopGroup, queries: NIOThreadPool, channel: any Channel, host: String, port: Int, logger: Logger) {
        self.group = group
        self.queries = queries
        self.channel = channel
        self.host = host
        self.port = port
        self.logger = logger
    }

    static func start(host: String, port: Int, routes: HTTPRoutes, limits: HTTPEndpointLimits = HTTPEndpointLimits(),
                      logger: Logger) async throws -> HTTPEndpoint
    {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let queries = NIOThreadPool(numberOfThreads: max(1, limits.queryThreads))
        queries.start()
        let connections = ConnectionCount()
        let idle = TimeAmount.nanoseconds(limits.idleTimeout.inNanoseconds)
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 64)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                guard connections.open(limit: limits.maxConnections) else {
                    logger.debug("http connection refused: \(limits.maxConnections) connections are open")
                    return channel.close()
                }
                channel.closeFuture.whenComplete { _ in connections.close() }
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(IdleStateHandler(allTimeout: idle))
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(
                        HTTPRequestHandler(routes: routes, queries: queries, maxRequestBytes: limits.maxRequestBytes))
                }
            }
            .childChannelOption(.socketOption(.so_reuseaddr), value: 1)
        let channel: any Channel
        do {
            channel = try await bootstrap.bind(host: host, port: port).get()
        } catch {
            try? await group.shutdownGracefully()
            try? await queries.shutdownGracefully()
            let reason = (error as? IOError).map { "\($0.errnoCode == 98 ? "the address is already in use" : "\($0)")" } ?? "\(error)"
            throw BindError(description: "http.listen: cannot listen on \(host):\(port): \(reason)")
        }
        let endpoint = HTTPEndpoint(group: group, queries: queries, channel: channel, host: host,
                                    port: channel.localAddress?.port ?? port, logger: logger)
        logger.info("http endpoint listening", metadata: ["address": "http://\(host):\(endpoint.port)",
                                                          "paths": "/metrics /health /ready /recommendations?user=U&k=K"])
        return endpoint
    }

    /// The bound socket address (for checks that it is the configured interface).
    public var boundAddress: String? { channel.localAddress?.ipAddress }

    /// Serves until the group shuts down gracefully (or the task is cancelled), then closes.
    public func run() async throws {
        try? await gracefulShutdown()
        await shutdown()
    }

    public func shutdown() async {
        try? await channel.close()
        try? await group.shutdownGracefully()
        try? await queries.shutdownGracefully()
    }
}

/// Open connections, checked against the cap as each is accepted.
private final class ConnectionCount: Sendable {
    private let count = Atomic<Int>(0)

    func open(limit: Int) -> Bool {
        let now = count.add(1, ordering: .relaxed).newValue
        if now > limit {
            count.subtract(1, ordering: .relaxed)
            return false
        }
        return true
    }

    func close() {
        count.subtract(1, ordering: .relaxed)
    }
}

/// Collects one request (head and end; a body is counted against the limit and ignored) and
/// answers it: cheap routes on the loop, queries on the thread pool.
private final class HTTPRequestHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let routes: HTTPRoutes
    private let queries: NIOThreadPool
    private let maxRequestBytes: Int
    private var head: HTTPRequestHead?
    private var requestBytes = 0
    private var rejected = false
    /// A query is running on the pool: the connection is not idle.
    private var busy = false

    init(routes: HTTPRoutes, queries: NIOThreadPool, maxRequestBytes: Int) {
        self.routes = routes
        self.queries = queries
        self.maxRequestBytes = maxRequestBytes
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !rejected else { return }
        switch unwrapInboundIn(data) {
        case let .head(request):
            head = request
            requestBytes = request.uri.utf8.count + request.headers.reduce(0) { $0 + $1.name.utf8.count + $1.value.utf8.count + 4 }
            if requestBytes > maxRequestBytes { reject(context: context, version: request.version) }
        case let .body(buffer):
            requestBytes += buffer.readableBytes
            if requestBytes > maxRequestBytes, let request = head { reject(context: context, version: request.version) }
        case .end:
            guard let request = head else { return }
            head = nil
            let routes = self.routes
            let method = request.method.rawValue
            let uri = request.uri
            if routes.needsModel(uri: uri) {
                busy = true
                let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
                queries.runIfActive(eventLoop: context.eventLoop) { routes.reply(method: method, uri: uri) }
                    .whenComplete { result in
                        let (handler, context) = loopBound.value
                        handler.busy = false
                        let reply = (try? result.get()) ?? .text(503, "the query could not be run; try again\n")
                        handler.respond(reply, to: request, context: context)
                    }
            } else {
                respond(routes.reply(method: method, uri: uri), to: request, context: context)
            }
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent, !busy {
            context.close(promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    private func reject(context: ChannelHandlerContext, version: HTTPVersion) {
        rejected = true
        head = nil
        let request = HTTPRequestHead(version: version, method: .GET, uri: "/", headers: ["connection": "close"])
        respond(.text(413, "the request is larger than \(maxRequestBytes) bytes\n"), to: request, context: context)
    }

    private func respond(_ reply: HTTPReply, to request: HTTPRequestHead, context: ChannelHandlerContext) {
        guard context.channel.isActive else { return }
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: reply.contentType)
        headers.add(name: "Content-Length", value: String(reply.body.count))
        let keepAlive = request.isKeepAlive && !rejected
        headers.add(name: "Connection", value: keepAlive ? "keep-alive" : "close")
        let response = HTTPResponseHead(version: request.version, status: HTTPResponseStatus(statusCode: reply.status), headers: headers)
        context.write(wrapOutboundOut(.head(response)), promise: nil)
        if request.method != .HEAD {
            var buffer = context.channel.allocator.buffer(capacity: reply.body.count)
            buffer.writeBytes(reply.body)
            context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
        }
        let written = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if !keepAlive {
            let channel = context.channel
            written.whenComplete { _ in channel.close(promise: nil) }
        }
    }
}
