/// When a click earns its user a fresh recommendation (`publish.on_click`): at most one per user
/// per `minimumInterval` of event time. The map of last publications is pruned when it grows, so
/// it stays bounded; it is part of the checkpoint (a restart publishes exactly what a run that
/// never stopped would).
public struct ClickPublicationPolicy: Sendable, Equatable {
    public let minimumIntervalMilliseconds: Int64
    private var lastPublication: [String: Int64] = [:]
    private var lastPrunedAt: Int64 = 0
    /// Users remembered before the map is pruned of those whose interval has passed anyway.
    static let pruneAbove = 100_000

    public init(minimumIntervalSeconds: Double) {
        minimumIntervalMilliseconds = Int64(minimumIntervalSeconds * 1_000)
    }

    /// Whether a click by `user` at event time `time` should trigger a publication (and, if so,
    /// notes it).
    public mutating func shouldPublish(user: String, at time: Int64) -> Bool {
        if let last = lastPublication[user], time - last < minimumIntervalMilliseconds {
            return false
        }
        lastPublication[user] = time
        if lastPublication.count > Self.pruneAbove && time - lastPrunedAt > minimumIntervalMilliseconds {
            lastPublication = lastPublication.filter { time - $0.value < minimumIntervalMilliseconds }
            lastPrunedAt = time
        }
        return true
    }

    // MARK: State

    func writeState(to writer: inout StateWriter) {
        let users = lastPublication.keys.sorted()
        writer.write(users.count)
        for user in users {
            writer.write(user)
            writer.write(lastPublication[user]!)
        }
        writer.write(lastPrunedAt)
    }

    mutating func readState(from reader: inout StateReader) throws {
        let count = try reader.readCount(elementSize: 16, "click publication times")
        var restored: [String: Int64] = [:]
        restored.reserveCapacity(count)
        var previous: String?
        for _ in 0..<count {
            let user = try reader.readString()
            guard previous.map({ $0 < user }) ?? true else { throw StateReadError("click publication times: users are not sorted and unique") }
            previous = user
            restored[user] = try reader.readTime("a click publication time")
        }
        lastPrunedAt = try reader.readTime("the last pruning time")
        lastPublication = restored
    }
}
