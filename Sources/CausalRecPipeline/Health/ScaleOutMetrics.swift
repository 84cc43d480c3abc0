import CoreMetrics
import Metrics
import Prometheus

/// What moving partitions through the users' changelog costs (restore time per partition, bytes
/// and records written, records a restore ignored) and what sharing items costs (delta messages
/// and bytes, the sync lag). No label carries a user id, an item id or a partition.
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
    /// Item deltas published (messages and value bytes), and received ones refused as undecodable.
    let deltaMessages: CoreMetrics.Counter
    let deltaBytes: CoreMetrics.Counter
    let refusedDeltas: CoreMetrics.Counter
    /// Item deltas whose counts were refused as an old owner's (published after a newer claim).
    let fencedDeltas: CoreMetrics.Counter
    /// Seconds from another instance taking its item changes to their application here.
    let syncLag: CoreMetrics.Recorder
    /// Item snapshots written here, and their bytes.
    let snapshots: CoreMetrics.Counter
    let snapshotBytes: CoreMetrics.Counter

    init(factory: PrometheusMetricsFactory) {
        restoreDuration = Metrics.Timer(label: "causalrec_restore_seconds", factory: factory)
        changelogBytes = CoreMetrics.Counter(label: "causalrec_changelog_bytes_total", factory: factory)
        changelogRecords = CoreMetrics.Counter(label: "causalrec_changelog_records_total", factory: factory)
        trimmedEntries = CoreMetrics.Counter(label: "causalrec_changelog_entries_trimmed_total", factory: factory)
        deltaMessages = CoreMetrics.Counter(label: "causalrec_item_delta_messages_total", factory: factory)
        deltaBytes = CoreMetrics.Counter(label: "causalrec_item_delta_bytes_total", factory: factory)
        refusedDeltas = CoreMetrics.Counter(label: "causalrec_item_deltas_refused_total", factory: factory)
        fencedDeltas = CoreMetrics.Counter(label: "causalrec_item_deltas_fenced_total", factory: factory)
        syncLag = CoreMetrics.Recorder(label: "causalrec_item_sync_lag_seconds", factory: factory)
        snapshots = CoreMetrics.Counter(label: "causalrec_item_snapshots_total", factory: factory)
        snapshotBytes = CoreMetrics.Counter(label: "causalrec_item_snapshot_bytes_total", factory: factory)
        ignoredRecords = Dictionary(uniqueKeysWithValues: ["zombie", "refused"].map {
            ($0, CoreMetrics.Counter(label: "causalrec_changelog_records_ignored_total", dimensions: [("reason", $0)], factory: factory))
        })
    }
}
