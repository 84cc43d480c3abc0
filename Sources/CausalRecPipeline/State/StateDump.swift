import CausalRecCore
import Foundation

/// The live state as JSON lines, for comparing instances (`causalrec run --dump-state FILE`): one
/// line per user (its input partition and clicked items) and one per item (click count, exposure
/// share, bias, embedding), each sorted by id. Written at the end of a run.
enum StateDump {
    struct UserLine: Encodable {
        var user: String
        var partition: Int32?
        var clicked: [String]
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

    /// Writes the state to `path` (lock taken here).
    static func write(_ live: LiveState, to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        var output = Data()
        try live.withExclusiveAccess { engine in
            let recommender = engine.recommender
            var users: [UserLine] = []
            for identifier in recommender.users.identifiers {
                guard let row = recommender.users.row(for: identifier) else { continue }
                users.append(UserLine(user: identifier, partition: live.partition(ofUserRow: row),
                                      clicked: recommender.history.clicked(by: row).map { recommender.items.identifier(of: $0) }.sorted()))
            }
            var items: [ItemLine] = []
            for identifier in recommender.items.identifiers {
                guard let row = recommender.items.row(for: identifier) else { continue }
                items.append(ItemLine(item: identifier, clicks: recommender.history.clickCounts[Int(row)],
                                      exposureShare: recommender.exposure.propensity(of: row), bias: recommender.model.itemBias[Int(row)],
                                      embedding: recommender.model.items.values(of: row)))
            }
            for line in users.sorted(by: { $0.user < $1.user }) {
                output.append(try encoder.encode(line))
                output.append(0x0A)
            }
            for line in items.sorted(by: { $0.item < $1.item }) {
                output.append(try encoder.encode(line))
                output.append(0x0A)
            }
        }
        try output.write(to: URL(fileURLWithPath: path), options: .atomic)
    }
}
