import CausalRecCore
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import ServiceLifecycle

/// The HTTP server of `causalrec run` (SwiftNIO, one event-loop thread): binds at start-up —
/// a port in use stops the service with a message naming it — and serves `HTTPRoutes`.
///
/// The event loop never waits for the model: `/recommendations` runs on a small thread pool
/// (it takes the model's lock, which a training batch may hold for a while), while `/health`,
/// `/ready` and `/metrics` read only atomics and locked counters and are answered on the loop
/// at once — so a long batch never makes the service look dead to its orchestrator. Nor do slow
/// or numerous clients: `ConnectionTable` keeps places beyond its caps for probes, closes the
/// longest-idle connection when a new request needs room, and `ConnectionGuardHandler` closes a
/// connection whose request is not complete in time, however slowly it keeps sending.
///
/// A `Service`: bound by `start` (so a port in use stops start-up), then run in the service group,
/// which closes it on graceful shutdown after the event loop (started after it) has drained.
public final class HTTPEndpoint: Service, Sendable {
    private let group: MultiThreadedEventLoopGroup
    private let queries: NIOThreadPool
    private let channel: any Channel
    private let table: NIOLoopBoundBox<ConnectionTable>
    private let logger: Logger
    /// The address actually bound (port 0 in the configuration picks a free one).
    public let host: String
    public let port: Int

    public struct BindError: Error, CustomStringConvertible {
        public let description: String
    }

    private init(group: MultiThreadedEventLoopGroup, queries: NIOThreadPool, channel: any Channel, table: NIOLoopBoundBox<ConnectionTable>,
                 host: String, port: Int, logger: Logger)
    {
        self.group = group
        self.queries = queries
        self.channel = channel
        self.table = table
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
        let loop = group.next()
        // One loop thread: the initializer and every handler run on it, so the table needs no lock.
        let table = NIOLoopBoundBox.makeBoxSendingValue(ConnectionTable(limits: limits, metrics: routes.metrics.http, logger: logger),
                                                         eventLoop: loop)
        let idle = TimeAmount.nanoseconds(limits.idleTimeout.inNanoseconds)
        let requestTimeout = TimeAmount.nanoseconds(limits.requestTimeout.inNanoseconds)
        let bootstrap = ServerBootstrap(group: group)
            // Connections are accepted at once (and sorted out by the table), so the queue only
            // absorbs bursts; a full one would drop a probe's connection attempt.
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                let connections = table.value
                guard let connection = connections.admit(channel) else { return channel.close() }
                channel.closeFuture.assumeIsolated().whenComplete { _ in connections.remove(connection) }
                return channel.eventLoop.makeCompletedFuture {
                    let pipeline = channel.pipeline.syncOperations
                    try pipeline.addHandler(ConnectionGuardHandler(connection: connection, table: connections, requestTimeout: requestTimeout))
                    try pipeline.addHandler(IdleStateHandler(allTimeout: idle))
                    try pipeline.configureHTTPServerPipeline(withErrorHandling: true)
                    try pipeline.addHandler(HTTPRequestHandler(routes: routes, queries: queries, maxRequestBytes: limits.maxRequestBytes,
                                                               connection: connection, table: connections))
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
        let endpoint = HTTPEndpoint(group: group, queries: queries, channel: channel, table: table, host: host,
                                    port: channel.localAddress?.port ?? port, logger: logger)
        logger.info("http endpoint listening", metadata: ["address": "http://\(host):\(endpoint.port)",
                                                          "paths": "/metrics /health /ready /recommendations?user=U&k=K"])
        return endpoint
    }

    /// The bound socket address (for checks that it is the configured interface).
    public var boundAddress: String? { channel.localAddress?.ipAddress }

    /// Connections held in regular and in reserved places (for tests that fill the caps).
    func connectionCounts() async throws -> (regular: Int, reserved: Int) {
        let table = self.table
        return try await table.eventLoop.submit { table.value.counts }.get()
    }

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
