import CoreMetrics
import Metrics
import Prometheus

/// The service's metrics (swift-metrics API, Prometheus exposition). Each service owns its
/// registry instead of bootstrapping the process-wide metrics system, so several services (or
/// tests) in one process do not share counters. No label carries a user or item id.
package final class ServiceMetrics: Sendable {
    package let registry = PrometheusCollectorRegistry()
    let events: [EventKind: CoreMetrics.Counter]
    let applied: CoreMetrics.Counter
    let deadLettered: CoreMetrics.Counter
    let recommendations: CoreMetrics.Counter
    let checkpoints: CoreMetrics.Counter
    let checkpointFailures: CoreMetrics.Counter
    let alerts: CoreMetrics.Counter
    let lag: CoreMetrics.Gauge
    let modelVersion: CoreMetrics.Gauge
    let denoiserVersion: CoreMetrics.Gauge
    let checkpointAge: CoreMetrics.Gauge
    let brokerUp: CoreMetrics.Gauge
    let batchDuration: Metrics.Timer
    let publishLatency: Metrics.Timer
    let queryDuration: Metrics.Timer
    let checkpointDuration: Metrics.Timer
    /// Makes further metrics in this registry (the output path's own, `OutputMetrics`).
    let factory: PrometheusMetricsFactory
    /// Input events refused because their time lies too far ahead of the broker's timestamp.
    let futureEvents: CoreMetrics.Counter
    /// Events applied at the event clock's time instead of their own, later one (a run ahead of
    /// the stream not yet confirmed as time moving on).
    let heldBackEvents: CoreMetrics.Counter
    /// Training steps refused whole because a gradient was not finite.
    let refusedTrainingSteps: CoreMetrics.Counter
    /// The HTTP endpoint's refused, evicted and timed-out connections.
    let http: HTTPConnectionMetrics
    /// Rows in use and evicted.
    let rows: RowMetrics
    /// The users' changelog (with `scale_out.enabled`).
    let scaleOut: ScaleOutMetrics

    enum EventKind: String, CaseIterable {
        case impression, click, request, forget, invalid
    }

    package init() {
        var factory = PrometheusMetricsFactory(registry: registry)
        // From 10 µs (a small batch, a query) to 10 s (a large checkpoint).
        factory.defaultDurationHistogramBuckets = [
            .microseconds(10), .microseconds(50), .microseconds(100), .microseconds(250), .microseconds(500),
            .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25),
            .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1),
            .seconds(2), .seconds(5), .seconds(10),
        ]
        events = Dictionary(uniqueKeysWithValues: EventKind.allCases.map {
            ($0, CoreMetrics.Counter(label: "causalrec_events_total", dimensions: [("type", $0.rawValue)], factory: factory))
        })
        applied = CoreMetrics.Counter(label: "causalrec_events_applied_total", factory: factory)
        deadLettered = CoreMetrics.Counter(label: "causalrec_dlq_total", factory: factory)
        recommendations = CoreMetrics.Counter(label: "causalrec_recommendations_total", factory: factory)
        checkpoints = CoreMetrics.Counter(label: "causalrec_checkpoints_total", factory: factory)
        checkpointFailures = CoreMetrics.Counter(label: "causalrec_checkpoint_failures_total", factory: factory)
        alerts = CoreMetrics.Counter(label: "causalrec_drift_alerts_total", factory: factory)
        lag = CoreMetrics.Gauge(label: "causalrec_consumer_lag", factory: factory)
        modelVersion = CoreMetrics.Gauge(label: "causalrec_model_version", factory: factory)
        denoiserVersion = CoreMetrics.Gauge(label: "causalrec_denoiser_version", factory: factory)
        checkpointAge = CoreMetrics.Gauge(label: "causalrec_checkpoint_age_seconds", factory: factory)
        brokerUp = CoreMetrics.Gauge(label: "causalrec_broker_up", factory: factory)
        batchDuration = Metrics.Timer(label: "causalrec_batch_duration_seconds", factory: factory)
        publishLatency = Metrics.Timer(label: "causalrec_publish_latency_seconds", factory: factory)
        queryDuration = Metrics.Timer(label: "causalrec_query_duration_seconds", factory: factory)
        checkpointDuration = Metrics.Timer(label: "causalrec_checkpoint_duration_seconds", factory: factory)
        futureEvents = CoreMetrics.Counter(label: "causalrec_future_events_total", factory: factory)
        heldBackEvents = CoreMetrics.Counter(label: "causalrec_events_held_back_total", factory: factory)
        refusedTrainingSteps = CoreMetrics.Counter(label: "causalrec_training_steps_refused_total", factory: factory)
        http = HTTPConnectionMetrics(factory: factory)
        rows = RowMetrics(factory: factory)
        scaleOut = ScaleOutMetrics(factory: factory)
        brokerUp.record(1)
        self.factory = factory
    }

    /// Prometheus text exposition of every metric.
    package func exposition() -> [UInt8] {
        registry.emitToBuffer()
    }
}
