import CoreMetrics
import Prometheus

/// The output path's metrics: outputs the broker confirmed, and outputs that failed by what was
/// done about them (`OutputFailurePolicy`), per output. No label carries a user or item.
final class OutputMetrics: Sendable {
    let delivered: [OutputKind: CoreMetrics.Counter]
    let failures: [OutputKind: [OutputFailurePolicy.Action: CoreMetrics.Counter]]

    init(factory: PrometheusMetricsFactory) {
        delivered = Dictionary(uniqueKeysWithValues: OutputKind.allCases.map {
            ($0, CoreMetrics.Counter(label: "causalrec_outputs_delivered_total", dimensions: [("output", $0.rawValue)], factory: factory))
        })
        failures = Dictionary(uniqueKeysWithValues: OutputKind.allCases.map { kind in
            (kind, Dictionary(uniqueKeysWithValues: OutputFailurePolicy.Action.allCases.map { action in
                (action, CoreMetrics.Counter(label: "causalrec_output_failures_total",
                                             dimensions: [("output", kind.rawValue), ("action", action.rawValue)], factory: factory))
            }))
        })
    }
}
