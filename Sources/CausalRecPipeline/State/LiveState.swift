import CausalRecCore
import Kafka
import NIOConcurrencyHelpers

/// The learning state of a running service, shared between the event loop (the only writer)
/// and the HTTP query handlers (readers) under one lock. The loop holds the lock for a whole
/// consumed batch, so a query waits at most one batch and never sees half an update.
package final class LiveState: @unchecked Sendable {
    private let lock = NIOLock()
    // Guarded by `lock`.
    private var engine: StreamEngine
    /// The input partition each user's events arrive on (by user row; −1 = not seen), so a query
    /// can tell whether this instance owns the user.
    private var userPartitions: [Int32] = []
    private var assigned: Set<Int32> = []
    /// The queries' own ranking buffers: a query never writes the recommender's.
    private var queryRanker: ItemRanker?
    /// A fresh engine with the service's settings (to restore a checkpoint into).
    let makeEngine: @Sendable () -> StreamEngine

    init(makeEngine: @escaping @Sendable () -> StreamEngine) {
        self.makeEngine = makeEngine
        engine = makeEngine()
    }

    /// A state around a plain engine (no drift monitor, no click policy).
    convenience init(configuration: RecommenderConfiguration) {
        self.init { StreamEngine(recommender: OnlineRecommender(configuration: configuration)) }
    }

    /// Runs `body` with exclusive access (the event loop, checkpoints).
    func withExclusiveAccess<Result>(_ body: (StreamEngine) throws -> Result) rethrows -> Result {
        try lock.withLock { try body(engine) }
    }

    /// Called with the lock held (inside `withExclusiveAccess`).
    func noteUserPartition(row: Int32, partition: Int32) {
        let index = Int(row)
        if index >= userPartitions.count {
            userPartitions.append(contentsOf: repeatElement(-1, count: index + 1 - userPartitions.count))
        }
        userPartitions[index] = partition
    }

    /// The input partition noted for a user row (lock held); nil when none was.
    func partition(ofUserRow row: Int32) -> Int32? {
        let index = Int(row)
        guard index < userPartitions.count, userPartitions[index] >= 0 else { return nil }
        return userPartitions[index]
    }

    /// The ids of the users whose events arrive on `partition` (lock held).
    func users(inPartition partition: Int32) -> [String] {
        let table = engine.recommender.users
        return userPartitions.indices.compactMap { row in
            guard userPartitions[row] == partition, row < table.count, table.isActive(Int32(row)) else { return nil }
            return table.identifier(of: Int32(row))
        }
    }

    func setAssigned(_ partitions: Set<Int32>) {
        lock.withLock { assigned = partitions }
    }

    /// The answer to `GET /recommendations`: nil when the user's events go to a partition this
    /// instance does not own (another instance has their state).
    package enum QueryAnswer: Sendable {
        case recommendation(Recommendation)
        case notOwned(partition: Int32)
    }

    package func query(user: String, k: Int, at timestamp: Int64) -> QueryAnswer {
        lock.withLock {
            let recommender = engine.recommender
            if let row = recommender.userRow(ofKnown: user), Int(row) < userPartitions.count {
                let partition = userPartitions[Int(row)]
                if partition >= 0 && !assigned.contains(partition) { return .notOwned(partition: partition) }
            }
            if queryRanker == nil { queryRanker = recommender.makeQueryRanker() }
            return .recommendation(recommender.peekRecommendation(user: user, k: k, at: timestamp, scratch: queryRanker!))
        }
    }

    // MARK: State (with the lock held)

    func writeUserPartitions(to writer: inout StateWriter) {
        writer.write(userPartitions)
    }

    /// The user → partition notes of a checkpoint, checked against the restored users.
    static func readUserPartitions(from reader: inout StateReader, userCount: Int) throws -> [Int32] {
        let partitions = try reader.readInt32Array()
        try StateCheck.require(partitions.count <= userCount && partitions.allSatisfy { $0 >= -1 },
                               "the users' partitions (\(partitions.count) for \(userCount) users) are inconsistent")
        return partitions
    }

    /// Swaps in a completely restored state (before the first poll). A restore that fails part
    /// way never reaches here, so the live state is either the old one or the whole new one.
    func replace(with restored: StreamEngine, userPartitions partitions: [Int32]) {
        lock.withLock {
            engine = restored
            userPartitions = partitions
            queryRanker = nil
        }
    }
}
