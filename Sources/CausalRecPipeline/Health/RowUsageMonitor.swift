import CausalRecCore
import CoreMetrics
import Logging

/// Turns the recommender's row counts into the rows gauges and eviction counters, and into a
/// `/ready` warning while a table holds 90 % or more of its limit (from there on, the least
/// recently seen rows are evicted as new ids arrive: the operator may want a higher limit).
struct RowUsageMonitor {
    static let warningFraction = 0.9

    private let metrics: RowMetrics
    private let status: ServiceStatus
    private let logger: Logger
    private var seen: Counts?
    private var warnings: [String] = []

    struct Counts: Equatable {
        var users: Int
        var items: Int
        var usersEvicted: Int
        var itemsEvicted: Int
        var usersEvictedAtLimit: Int
        var itemsEvictedAtLimit: Int

        init(_ recommender: OnlineRecommender) {
            users = recommender.activeUsers
            items = recommender.activeItems
            usersEvicted = recommender.retention.evictedUsers
            itemsEvicted = recommender.retention.evictedItems
            usersEvictedAtLimit = recommender.retention.limitEvictedUsers
            itemsEvictedAtLimit = recommender.retention.limitEvictedItems
        }
    }

    init(metrics: RowMetrics, status: ServiceStatus, logger: Logger) {
        self.metrics = metrics
        self.status = status
        self.logger = logger
    }

    /// Called after each batch, under the state's lock.
    mutating func note(_ recommender: OnlineRecommender) {
        let now = Counts(recommender)
        guard now != seen else { return }
        metrics.users.record(Double(now.users))
        metrics.items.record(Double(now.items))
        // The first look only sets the baseline: a restored state's evictions happened before
        // this process (its counters start at 0).
        if let seen {
            let usersAtLimit = now.usersEvictedAtLimit - seen.usersEvictedAtLimit
            let itemsAtLimit = now.itemsEvictedAtLimit - seen.itemsEvictedAtLimit
            Self.increment(metrics.usersEvictedAtLimit, by: usersAtLimit)
            Self.increment(metrics.itemsEvictedAtLimit, by: itemsAtLimit)
            Self.increment(metrics.usersEvictedOtherwise, by: now.usersEvicted - seen.usersEvicted - usersAtLimit)
            Self.increment(metrics.itemsEvictedOtherwise, by: now.itemsEvicted - seen.itemsEvicted - itemsAtLimit)
        }
        seen = now
        let retention = recommender.configuration.retention
        let current = [
            Self.warning("users", count: now.users, limit: retention.maxUsers, key: "retention.max_users"),
            Self.warning("items", count: now.items, limit: retention.maxItems, key: "retention.max_items"),
        ].compactMap { $0 }
        guard current != warnings else { return }
        // Logged when a table comes near its limit, not again at every new count.
        let tables = { (list: [String]) in Set(list.map { $0.prefix { $0 != " " } }) }
        let warned = tables(warnings)
        for warning in current where !warned.contains(warning.prefix { $0 != " " }) {
            logger.warning("\(warning)")
        }
        warnings = current
        status.update { $0.warnings = current }
    }

    static func warning(_ what: String, count: Int, limit: Int, key: String) -> String? {
        guard limit > 0, Double(count) >= warningFraction * Double(limit) else { return nil }
        let percent = Int((100 * Double(count) / Double(limit)).rounded(.down))
        return "\(what) rows near the limit: \(count) of \(key) \(limit) (\(percent) %); the least recently seen \(what) are evicted"
    }

    private static func increment(_ counter: CoreMetrics.Counter, by amount: Int) {
        if amount > 0 { counter.increment(by: amount) }
    }
}
