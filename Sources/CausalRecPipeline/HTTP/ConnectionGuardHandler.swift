import NIOCore

/// First handler of every connection (next to the socket): notes when bytes arrive, for "longest
/// idle", and holds the request deadline. The idle timeout restarts on every byte, so a client
/// sending a header line every few seconds is never idle; the deadline is absolute — it starts at
/// accept (or at the first byte of a later request) and ends only when the request is complete.
final class ConnectionGuardHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let connection: TrackedConnection
    private let table: ConnectionTable
    private let requestTimeout: TimeAmount
    private var deadline: Scheduled<Void>?

    init(connection: TrackedConnection, table: ConnectionTable, requestTimeout: TimeAmount) {
        self.connection = connection
        self.table = table
        self.requestTimeout = requestTimeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        // Added when the connection is accepted: its first request is due from now on.
        startDeadline(context: context)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        deadline?.cancel()
        deadline = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        connection.lastActivity = .now()
        if connection.phase == .waiting {
            connection.phase = .receiving
            startDeadline(context: context)
        }
        context.fireChannelRead(data)
    }

    private func startDeadline(context: ChannelHandlerContext) {
        connection.request += 1
        let request = connection.request
        deadline?.cancel()
        deadline = context.eventLoop.assumeIsolated().scheduleTask(in: requestTimeout) { [self] in
            // Late for a request already complete (its answer cancels nothing): nothing to do.
            guard connection.phase == .receiving, connection.request == request else { return }
            expire(context: context)
        }
    }

    private func expire(context: ChannelHandlerContext) {
        table.timedOut(connection)
        // Written here, below the HTTP codec, since the codec may hold half a request head.
        let response = "HTTP/1.1 408 Request Timeout\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(string: response))).whenComplete { _ in
            channel.close(promise: nil)
        }
    }
}
