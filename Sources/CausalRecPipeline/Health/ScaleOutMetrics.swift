import CoreMetrics
import Metrics
import Prometheus

/// What moving partitions through the users' changelog costs: restore time per partition, bytes
/// and records written, records a restore ignored. No label carries a user id or a partition.
final class ScaleOutMetrics: Sendable {
    /// Reading one partition's changelog to its end and claiming it.
    let restoreDuration: Metrics.Timer
    /// Keys and values written (headers not counted).
    let changelogBytes: CoreMetrics.Counter
    let changelogRecords: CoreMetrics.Counter
    /// Entries left out of user records to keep them under the size cap.
    let trimmedEntries: CoreMetrics.Counter
    /// Records a restore did not install, by reason: written by an owner after another's claim
    /// (`zombie`), or not decodable (`refused`).
    let ignoredRecords: [String: CoreMetrics.Counter]

    init(factory: PrometheusMetricsFactory) {
        restoreDuration = Metrics.Timer(label: "causalrec_restore_seconds", factory: factory)
        changelogBytes = CoreMetrics.Counter(label: "causalrec_changelog_bytes_total", factory: factory)
        changelogRecords = CoreMetrics.Counter(label: "causalrec_changelog_records_total", factory: factory)
        trimmedEntries = CoreMetrics.Counter(label: "causalrec_changelog_entries_trimmed_total", factory: factory)
        ignoredRecords = Dictionary(uniqueKeysWithValues: ["zombie", "refused"].map {
            ($0, CoreMetrics.Counter(label: "causalrec_changelog_records_ignored_total", dimensions: [("reason", $0)], factory: factory))
        })
    }
}
