import NIOCore
import NIOHTTP1
import NIOPosix

/// Collects one request (head and end; a body is counted against the limit and ignored) and
/// answers it: cheap routes on the loop, queries on the thread pool. Asks the connection table
/// whether a connection held beyond a cap may be served.
final class HTTPRequestHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let routes: HTTPRoutes
    private let queries: NIOThreadPool
    private let maxRequestBytes: Int
    private let connection: TrackedConnection
    private let table: ConnectionTable
    private var head: HTTPRequestHead?
    private var requestBytes = 0
    private var rejected = false
    /// Answer this request, then close: the connection holds a reserved place.
    private var closeAfterAnswer = false

    init(routes: HTTPRoutes, queries: NIOThreadPool, maxRequestBytes: Int, connection: TrackedConnection, table: ConnectionTable) {
        self.routes = routes
        self.queries = queries
        self.maxRequestBytes = maxRequestBytes
        self.connection = connection
        self.table = table
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !rejected else { return }
        switch unwrapInboundIn(data) {
        case let .head(request):
            head = request
            requestBytes = request.uri.utf8.count + request.headers.reduce(0) { $0 + $1.name.utf8.count + $1.value.utf8.count + 4 }
            if requestBytes > maxRequestBytes {
                reject(.text(413, "the request is larger than \(maxRequestBytes) bytes\n"), context: context, version: request.version)
                return
            }
            switch table.decide(connection, isProbe: routes.isProbe(uri: request.uri)) {
            case .serve:
                break
            case .serveOnce:
                closeAfterAnswer = true
            case let .refuse(reason):
                let message = reason == .peerLimit ? "too many connections from this address" : "too many connections"
                reject(.text(503, "\(message); only /health, /ready and /metrics are answered now, try again later\n"),
                       context: context, version: request.version)
            }
        case let .body(buffer):
            requestBytes += buffer.readableBytes
            if requestBytes > maxRequestBytes, let request = head {
                reject(.text(413, "the request is larger than \(maxRequestBytes) bytes\n"), context: context, version: request.version)
            }
        case .end:
            guard let request = head else { return }
            head = nil
            connection.phase = .handling
            let routes = self.routes
            let method = request.method.rawValue
            let uri = request.uri
            if routes.needsModel(uri: uri) {
                let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
                queries.runIfActive(eventLoop: context.eventLoop) { routes.reply(method: method, uri: uri) }
                    .whenComplete { result in
                        let (handler, context) = loopBound.value
                        let reply = (try? result.get()) ?? .text(503, "the query could not be run; try again\n")
                        handler.respond(reply, to: request, context: context)
                    }
            } else {
                respond(routes.reply(method: method, uri: uri), to: request, context: context)
            }
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        // While a query runs on the pool the connection is quiet but not idle.
        if event is IdleStateHandler.IdleStateEvent, connection.phase != .handling {
            context.close(promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    /// Answers at once and closes: the rest of the request is not read.
    private func reject(_ reply: HTTPReply, context: ChannelHandlerContext, version: HTTPVersion) {
        rejected = true
        head = nil
        connection.phase = .handling
        let request = HTTPRequestHead(version: version, method: .GET, uri: "/", headers: ["connection": "close"])
        respond(reply, to: request, context: context)
    }

    private func respond(_ reply: HTTPReply, to request: HTTPRequestHead, context: ChannelHandlerContext) {
        guard context.channel.isActive else { return }
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: reply.contentType)
        headers.add(name: "Content-Length", value: String(reply.body.count))
        let keepAlive = request.isKeepAlive && !rejected && !closeAfterAnswer
        headers.add(name: "Connection", value: keepAlive ? "keep-alive" : "close")
        let response = HTTPResponseHead(version: request.version, status: HTTPResponseStatus(statusCode: reply.status), headers: headers)
        context.write(wrapOutboundOut(.head(response)), promise: nil)
        if request.method != .HEAD {
            var buffer = context.channel.allocator.buffer(capacity: reply.body.count)
            buffer.writeBytes(reply.body)
            context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
        }
        if keepAlive {
            // Before the last write: finishing the answer may hand over a pipelined request at once.
            connection.phase = .waiting
            connection.lastActivity = .now()
        }
        let written = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if !keepAlive {
            let channel = context.channel
            written.whenComplete { _ in channel.close(promise: nil) }
        }
    }
}
