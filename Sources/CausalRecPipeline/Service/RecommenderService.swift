import CausalRecCore
import Kafka
import Logging
import ServiceLifecycle
import Synchronization

/// `causalrec run` as a swift-service-lifecycle service: the event loop runs on a dedicated
/// thread (its librdkafka calls block), and graceful shutdown (SIGTERM/SIGINT) or task
/// cancellation asks it to finish the current batch, commit, and leave the group.
public final class RecommenderService: Service, Sendable {
    package let counters = ProcessingCounters()
    package let metrics = ServiceMetrics()
    package let status = ServiceStatus()
    /// The learning state, shared with the HTTP query handler.
    package let live: LiveState
    private let configuration: PipelineConfiguration
    private let bootstrapServers: String
    private let options: RunOptions
    private let logger: Logger
    private let stopFlag = StopFlag()
    private let result = Mutex<ProcessingOutcome?>(nil)

    /// Separately allocated so the loop thread can hold it without holding the service.
    final class StopFlag: Sendable {
        let value = Atomic<Bool>(false)
    }

    public init(configuration: PipelineConfiguration, bootstrapServers: String, options: RunOptions, logger: Logger) {
        self.configuration = configuration
        self.bootstrapServers = bootstrapServers
        self.options = options
        self.logger = logger
        live = LiveState(makeEngine: Self.engineFactory(configuration))
    }

    /// A new engine with the configuration's recommender, drift monitor and click policy.
    static func engineFactory(_ configuration: PipelineConfiguration) -> @Sendable () -> StreamEngine {
        let recommender = configuration.recommender
        let drift = configuration.drift.enabled ? configuration.drift : nil
        let publishing = configuration.publishing
        return {
            StreamEngine(recommender: OnlineRecommender(configuration: recommender), drift: drift,
                         clickPublication: publishing.onClick ? ClickPublicationPolicy(minimumIntervalSeconds: publishing.clickMinIntervalSeconds) : nil)
        }
    }

    /// The routes of the HTTP endpoint over this service's state.
    func makeRoutes() -> HTTPRoutes {
        HTTPRoutes(metrics: metrics, status: status, live: live, maxK: configuration.events.maxK,
                   samplerName: configuration.recommender.sampler.name)
    }

    /// Binds the HTTP endpoint of `http.listen` (nil when `http.enabled` is false). Call before
    /// `run`: a port in use throws, naming it, so start-up stops instead of running blind.
    public func startHTTPEndpoint() async throws -> HTTPEndpoint? {
        guard configuration.http.enabled else { return nil }
        let routes = makeRoutes()
        return try await HTTPEndpoint.start(host: configuration.http.host, port: configuration.http.port, routes: routes,
                                            limits: configuration.http.limits, logger: logger)
    }

    /// The outcome once `run` has returned.
    package var outcome: ProcessingOutcome? { result.withLock { $0 } }

    /// Asks the loop to stop after the current batch.
    public func requestStop() {
        stopFlag.value.store(true, ordering: .releasing)
    }

    public func run() async throws {
        let loop = PollLoop(configuration: configuration, bootstrapServers: bootstrapServers, options: options,
                                  counters: counters, metrics: metrics, status: status, live: live, logger: logger)
        let flag = stopFlag
        let outcome = try await withTaskCancellationHandler {
            try await withGracefulShutdownHandler {
                try await DedicatedThread.run(name: "causalrec-events") {
                    try loop.run(stop: flag.value)
                }
            } onGracefulShutdown: {
                flag.value.store(true, ordering: .releasing)
            }
        } onCancel: {
            flag.value.store(true, ordering: .releasing)
        }
        result.withLock { $0 = outcome }
    }
}
