import CoreMetrics
import Prometheus

/// The rows the state holds and the rows it gave up, by kind (user or item) — no id labels.
final class RowMetrics: Sendable {
    let users: CoreMetrics.Gauge
    let items: CoreMetrics.Gauge
    /// Rows evicted because a table passed `retention.max_users` / `max_items`.
    let usersEvictedAtLimit: CoreMetrics.Counter
    let itemsEvictedAtLimit: CoreMetrics.Counter
    /// Rows evicted by the idle TTLs or a `forget` event.
    let usersEvictedOtherwise: CoreMetrics.Counter
    let itemsEvictedOtherwise: CoreMetrics.Counter

    init(factory: PrometheusMetricsFactory) {
        users = CoreMetrics.Gauge(label: "causalrec_rows", dimensions: [("kind", "user")], factory: factory)
        items = CoreMetrics.Gauge(label: "causalrec_rows", dimensions: [("kind", "item")], factory: factory)
        func evicted(_ kind: String, _ reason: String) -> CoreMetrics.Counter {
            CoreMetrics.Counter(label: "causalrec_rows_evicted_total", dimensions: [("kind", kind), ("reason", reason)], factory: factory)
        }
        usersEvictedAtLimit = evicted("user", "limit")
        itemsEvictedAtLimit = evicted("item", "limit")
        usersEvictedOtherwise = evicted("user", "idle_or_forget")
        itemsEvictedOtherwise = evicted("item", "idle_or_forget")
    }
}
