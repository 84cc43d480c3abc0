import Logging
import NIOCore
import NIOHTTP1
import NIOPosix

/// The HTTP server of `causalrec run` (SwiftNIO, one event-loop thread): binds at start-up —
/// a port in use stops the service with a message naming it — and serves `HTTPRoutes`.
/// Handlers only read shared state (metrics, status, the live model under its lock), so the
/// event loop's work never waits on a slow client.
public final class HTTPEndpoint: Sendable {
    private let group: MultiThreadedEventLoopGroup
    private let channel: any Channel
    private let logger: Logger
    /// The address actually bound (port 0 in the configuration picks a free one).
    public let host: String
    public let port: Int

    public struct BindError: Error, CustomStringConvertible {
        public let description: String
    }

    private init(group: MultiThreadedEventLoopGroup, channel: any Channel, host: String, port: Int, logger: Logger) {
        self.group = group
        self.channel = channel
        self.host = host
        self.port = port
        self.logger = logger
    }

    static func start(host: String, port: Int, routes: HTTPRoutes, logger: Logger) async throws -> HTTPEndpoint {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 64)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(HTTPRequestHandler(routes: routes))
                }
            }
            .childChannelOption(.socketOption(.so_reuseaddr), value: 1)
        let channel: any Channel
        do {
            channel = try await bootstrap.bind(host: host, port: port).get()
        } catch {
            try? await group.shutdownGracefully()
            let reason = (error as? IOError).map { "\($0.errnoCode == 98 ? "the address is already in use" : "\($0)")" } ?? "\(error)"
            throw BindError(description: "http.listen: cannot listen on \(host):\(port): \(reason)")
        }
        let endpoint = HTTPEndpoint(group: group, channel: channel, host: host, port: channel.localAddress?.port ?? port, logger: logger)
        logger.info("http endpoint listening", metadata: ["address": "http://\(host):\(endpoint.port)",
                                                          "paths": "/metrics /health /ready /recommendations?user=U&k=K"])
        return endpoint
    }

    public func shutdown() async {
        try? await channel.close()
        try? await group.shutdownGracefully()
    }
}

/// Collects one request (head and end; bodies are ignored) and answers it.
private final class HTTPRequestHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let routes: HTTPRoutes
    private var head: HTTPRequestHead?

    init(routes: HTTPRoutes) {
        self.routes = routes
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case let .head(request):
            head = request
        case .body:
            break
        case .end:
            guard let request = head else { return }
            head = nil
            let reply = routes.reply(method: request.method.rawValue, uri: request.uri)
            var headers = HTTPHeaders()
            headers.add(name: "Content-Type", value: reply.contentType)
            headers.add(name: "Content-Length", value: String(reply.body.count))
            let keepAlive = request.isKeepAlive
            headers.add(name: "Connection", value: keepAlive ? "keep-alive" : "close")
            let response = HTTPResponseHead(version: request.version, status: HTTPResponseStatus(statusCode: reply.status),
                                            headers: headers)
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
}
