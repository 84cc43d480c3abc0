import CausalRecCore
import Logging

/// Keeps this instance's items in step with the other instances' (README.md, "Several
/// instances"): it takes what this instance changed of items, publishes it on the deltas log as
/// numbered messages, and applies every other instance's messages once.
///
/// Exactly once, without transactions:
/// - a message that could not be published stays queued with its number and is sent again
///   (receivers drop a number they have applied), so a retry never adds a change twice;
/// - each message carries the input positions its counts reach; an event below the highest
///   position published for its partition is counted already (by its previous owner), so it
///   changes the model and its user but not the items' counts (`countsItems`);
/// - the numbers applied, those positions and the log offset are saved in the checkpoint; after
///   a restart the log is read on from that offset, and this instance's own messages published
///   after the checkpoint are applied like anyone's (its restored state does not hold them).
///
/// `take` and `apply` run with the live state's lock held; `publish` and `read` do I/O without it.
final class ItemSync {
    let instance: String
    let log: any ItemDeltaLog
    let dimension: Int
    /// Per instance (this one included), the highest message number applied to the local state.
    private(set) var applied: [String: Int64] = [:]
    /// Per input partition, the highest position any published message's counts reach.
    private(set) var publishedPositions: [Int32: Int64] = [:]
    /// The next offset of the deltas log to read.
    private(set) var logOffset: Int64 = 0
    /// Taken, numbered, not yet in the log.
    private(set) var unpublished: [ItemDeltaMessage] = []
    /// Set once the log was read to its end: nothing is published before (this instance's own
    /// numbers continue from what the log holds).
    private(set) var caughtUp = false
    private(set) var refusedMessages = 0
    /// Wall-clock milliseconds from the taking of the last applied message to its application.
    private(set) var lastLagMilliseconds: Int64 = 0
    var metrics: ScaleOutMetrics?
    private let logger: Logger

    init(instance: String, log: any ItemDeltaLog, dimension: Int, logger: Logger) {
        self.instance = instance
        self.log = log
        self.dimension = dimension
        self.logger = logger
    }

    /// Whether an event at `offset` of `partition` still counts for the items (lock held).
    func countsItems(partition: Int32, offset: Int64) -> Bool {
        offset >= (publishedPositions[partition] ?? 0)
    }

    // MARK: Publishing

    /// Takes the recommender's item changes as numbered messages, the last one carrying
    /// `positions` (lock held). Nothing is taken before the log was read to its end.
    func take(from recommender: OnlineRecommender, positions: [Int32: Int64], wallMilliseconds: Int64) {
        guard caughtUp else { return }
        let changes = recommender.takeItemChanges()
        let moved = positions.contains { $0.value > (publishedPositions[$0.key] ?? 0) }
        guard !changes.isEmpty || moved else { return }
        var chunks: [[ItemDelta]] = [[]]
        var bytes = 0
        for delta in changes.items {
            let size = ItemDeltaMessage.encodedSize(of: delta)
            if bytes + size > ItemDeltaMessage.maximumBytes - 4_096 && !chunks[chunks.count - 1].isEmpty {
                chunks.append([])
                bytes = 0
            }
            chunks[chunks.count - 1].append(delta)
            bytes += size
        }
        var sequence = applied[instance] ?? 0
        for (index, chunk) in chunks.enumerated() {
            sequence += 1
            let last = index == chunks.count - 1
            unpublished.append(ItemDeltaMessage(
                instance: instance, sequence: sequence, positions: last ? positions : [:], takenAtMilliseconds: wallMilliseconds,
                changes: ItemChanges(items: chunk, exposureTime: changes.exposureTime, modelVersion: changes.modelVersion)))
        }
        applied[instance] = sequence
        for (partition, position) in positions { publishedPositions[partition] = max(publishedPositions[partition] ?? 0, position) }
    }

    /// Appends the queued messages to the log (no lock: blocking I/O); on failure they stay
    /// queued, numbered as they are, for the next call.
    func publish() throws {
        guard !unpublished.isEmpty else { return }
        let values = unpublished.map { $0.encode() }
        try log.append(values, key: instance)
        metrics?.deltaMessages.increment(by: values.count)
        metrics?.deltaBytes.increment(by: values.reduce(0) { $0 + $1.count })
        unpublished.removeAll()
    }

    // MARK: Receiving

    /// Reads the log from where this instance left off (no lock): to its end when `toEnd`.
    func read(toEnd: Bool) throws -> [ItemDeltaMessage] {
        var messages: [ItemDeltaMessage] = []
        let end = try log.read(from: logOffset, toEnd: toEnd) { value in
            do {
                messages.append(try ItemDeltaMessage(decoding: value, dimension: dimension))
            } catch {
                refusedMessages += 1
                metrics?.refusedDeltas.increment()
                logger.warning("an item delta was refused", metadata: ["error": "\(error)"])
            }
        }
        logOffset = end
        return messages
    }

    /// Applies the messages this state does not hold yet (lock held); the first read to the end
    /// lets publishing begin.
    func apply(_ messages: [ItemDeltaMessage], to recommender: OnlineRecommender, reachedEnd: Bool, wallMilliseconds: Int64) {
        for message in messages where message.sequence > (applied[message.instance] ?? 0) {
            recommender.applyItemChanges(message.changes)
            applied[message.instance] = message.sequence
            for (partition, position) in message.positions {
                publishedPositions[partition] = max(publishedPositions[partition] ?? 0, position)
            }
            if message.instance != instance {
                lastLagMilliseconds = max(0, wallMilliseconds - message.takenAtMilliseconds)
                metrics?.syncLag.record(Double(lastLagMilliseconds) / 1_000)
            }
        }
        if reachedEnd { caughtUp = true }
    }

    // MARK: State

    /// What the checkpoint keeps of the exchange (captured with the state, lock held).
    var state: ItemSyncState {
        ItemSyncState(logOffset: logOffset, applied: applied, publishedPositions: publishedPositions)
    }

    /// Continues from a restored checkpoint: the log is read on from its offset, and nothing is
    /// published before that read reached the end.
    func restore(_ state: ItemSyncState) {
        logOffset = state.logOffset
        applied = state.applied
        publishedPositions = state.publishedPositions
        unpublished = []
        caughtUp = false
    }
}
