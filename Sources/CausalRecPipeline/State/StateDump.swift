import CausalRecCore
import Foundation

/// The live state as JSON lines, for comparing instances (`causalrec run --dump-state FILE`): one
/// line per owned input partition (events applied, by kind), one per user (its input partition,
/// last-seen time and clicked items) and one per item (click count, exposure share, bias,
/// embedding), each sorted. Written at the end of a run.
///
/// Users and partitions are taken while the instance still owns them (`Owned`): with several
/// instances, stopping gives the partitions and their users away. Items are taken last, after
/// reading what the other instances published, so instances that all stopped compare alike.
enum StateDump {
    struct PartitionLine: Encodable {
        var partition: Int32
        var applied: Int
        var impressions: Int
        var clicks: Int
        var requests: Int
        var forgets: Int
    }

    struct UserLine: Encodable {
        var user: String
        var partition: Int32?
        var lastSeen: Int64
        var clicked: [String]

        enum CodingKeys: String, CodingKey {
            case user, partition, clicked
            case lastSeen = "last_seen"
        }
    }

    struct ItemLine: Encodable {
        var item: String
        var clicks: Int32
        var exposureShare: Double
        var bias: Float
        var embedding: [Float]

        enum CodingKeys: String, CodingKey {
            case item, clicks, bias, embedding
            case exposureShare = "exposure_share"
        }
    }

    /// What belongs to the partitions this instance owns.
    struct Owned {
        var partitions: [PartitionLine] = []
        var users: [UserLine] = []
    }

    /// The owned part, from inside the lock (`applied` per partition: with several instances).
    static func owned(_ engine: StreamEngine, live: LiveState, applied: [Int32: AppliedEventCounts]?) -> Owned {
        let recommender = engine.recommender
        var owned = Owned()
        for (partition, counts) in (applied ?? [:]).sorted(by: { $0.key < $1.key }) {
            owned.partitions.append(PartitionLine(partition: partition, applied: counts.total, impressions: counts.impressions,
                                                  clicks: counts.clicks, requests: counts.requests, forgets: counts.forgets))
        }
        for identifier in recommender.users.identifiers {
            guard let row = recommender.users.row(for: identifier) else { continue }
            owned.users.append(UserLine(user: identifier, partition: live.partition(ofUserRow: row),
                                        lastSeen: recommender.retention.lastSeen(ofUser: row),
                                        clicked: recommender.history.clicked(by: row).map { recommender.items.identifier(of: $0) }.sorted()))
        }
        owned.users.sort { $0.user < $1.user }
        return owned
    }

    /// Writes `owned` and the items as they are now to `path` (lock taken here).
    static func write(_ owned: Owned, items live: LiveState, to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        var output = Data()
        func append<Line: Encodable>(_ line: Line) throws {
            output.append(try encoder.encode(line))
            output.append(0x0A)
        }
        for line in owned.partitions { try append(line) }
        for line in owned.users { try append(line) }
        let items = live.withExclusiveAccess { engine in
            let recommender = engine.recommender
            var items: [ItemLine] = []
            for identifier in recommender.items.identifiers {
                guard let row = recommender.items.row(for: identifier) else { continue }
                items.append(ItemLine(item: identifier, clicks: recommender.history.clickCounts[Int(row)],
                                      exposureShare: recommender.exposure.propensity(of: row), bias: recommender.model.itemBias[Int(row)],
                                      embedding: recommender.model.items.values(of: row)))
            }
            return items.sorted { $0.item < $1.item }
        }
        for line in items { try append(line) }
        try output.write(to: URL(fileURLWithPath: path), options: .atomic)
    }
}
