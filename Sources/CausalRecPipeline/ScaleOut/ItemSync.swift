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
/// - counts are published per input partition under the writer's ownership epoch, and a new
///   owner publishes a claim (its epoch) before it counts anything; every instance reads the one
///   log in the same order, so all refuse alike the counts an old owner (a zombie that has not
///   noticed its loss) published after the claim, and the old owner takes its own back;
/// - the numbers applied, those positions, the claims and the log offset are saved in the
///   checkpoint; after a restart the log is read on from that offset, and this instance's own
///   messages published after the checkpoint are applied like anyone's (its restored state does
///   not hold them).
///
/// `take` and `apply` run with the live state's lock held; `publish` and `read` do I/O without it.
final class ItemSync {
    let instance: String
    let log: any ItemDeltaLog
    let dimension: Int
    /// Per instance (this one included), the highest message number applied to the local state.
    private(set) var applied: [String: Int64] = [:]
    /// The highest number of this instance's own messages read back from the log.
    private(set) var ownRead: Int64 = 0
    /// Per input partition, the highest position the accepted messages' counts reach.
    private(set) var publishedPositions: [Int32: Int64] = [:]
    /// Per input partition, the epoch of the latest claim read from the log.
    private(set) var claims: [Int32: Int64] = [:]
    /// The epochs this instance claimed partitions with (kept after it lost them: counts it took
    /// before noticing are published under the old epoch).
    private(set) var ownEpochs: [Int32: Int64] = [:]
    /// The next offset of the deltas log to read.
    private(set) var logOffset: Int64 = 0
    /// Taken, numbered, not yet in the log.
    private(set) var unpublished: [ItemDeltaMessage] = []
    /// Set once the log was read to its end: nothing is published before (this instance's own
    /// numbers continue from what the log holds).
    private(set) var caughtUp = false
    private(set) var refusedMessages = 0
    /// Item deltas whose counts were refused as an old owner's.
    private(set) var fencedDeltas = 0
    /// Wall-clock milliseconds from the taking of the last applied message to its application.
    private(set) var lastLagMilliseconds: Int64 = 0
    var metrics: ScaleOutMetrics?
    let logger: Logger
    /// Where snapshots of the items are written and a new instance starts from (nil: none; a new
    /// instance then reads the deltas log from its beginning).
    let snapshots: (any ItemDeltaLog)?
    /// How often the instance that owns input partition 0 writes a snapshot.
    let snapshotIntervalMilliseconds: Int64
    var lastSnapshotMilliseconds: Int64?
    /// The log offset of the latest snapshot written here (a state the log has not moved past is
    /// not written again).
    var lastSnapshotOffset: Int64 = -1
    /// The log offset of the snapshot this instance started from, if it did.
    var installedSnapshotOffset: Int64?

    init(instance: String, log: any ItemDeltaLog, dimension: Int, snapshots: (any ItemDeltaLog)? = nil,
         snapshotIntervalMilliseconds: Int64 = 300_000, logger: Logger)
    {
        self.instance = instance
        self.log = log
        self.dimension = dimension
        self.snapshots = snapshots
        self.snapshotIntervalMilliseconds = snapshotIntervalMilliseconds
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
        for (index, chunk) in chunks.enumerated() {
            let last = index == chunks.count - 1
            let sources = Set(chunk.compactMap(\.source)).union(last ? Set(positions.keys) : [])
            queue(positions: last ? positions : [:], epochs: Dictionary(uniqueKeysWithValues: sources.map { ($0, ownEpochs[$0] ?? 0) }),
                  changes: ItemChanges(items: chunk, exposureTime: changes.exposureTime, modelVersion: changes.modelVersion,
                                       impressionsSeen: changes.impressionsSeen),
                  wallMilliseconds: wallMilliseconds)
        }
    }

    /// Queues this instance's claim of `partition` under `epoch` (lock held): once it is in the log
    /// and read back, counts of the partition under an older epoch are refused by everyone.
    func claim(_ partition: Int32, epoch: Int64, wallMilliseconds: Int64) {
        ownEpochs[partition] = epoch
        queue(positions: [:], epochs: [partition: epoch], changes: ItemChanges(), wallMilliseconds: wallMilliseconds)
    }

    private func queue(positions: [Int32: Int64], epochs: [Int32: Int64], changes: ItemChanges, wallMilliseconds: Int64) {
        let sequence = (applied[instance] ?? 0) + 1
        unpublished.append(ItemDeltaMessage(instance: instance, sequence: sequence, positions: positions, epochs: epochs,
                                            takenAtMilliseconds: wallMilliseconds, changes: changes))
        applied[instance] = sequence
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
                countRefused()
                logger.warning("an item delta was refused", metadata: ["error": "\(error)"])
            }
        }
        logOffset = end
        return messages
    }

    /// Applies, in log order, the messages this state does not hold yet (lock held), refusing
    /// counts published under an epoch older than the partition's latest claim; this instance's
    /// own refused counts are taken back. The first read to the end lets publishing begin.
    func apply(_ messages: [ItemDeltaMessage], to recommender: OnlineRecommender, reachedEnd: Bool, wallMilliseconds: Int64) {
        for message in messages {
            let own = message.instance == instance
            // A message seen before (published twice by a retry) was decided at its first copy.
            guard message.sequence > (own ? ownRead : applied[message.instance] ?? 0) else { continue }
            var fenced: Set<Int32> = []
            for (partition, epoch) in message.epochs.sorted(by: { $0.key < $1.key }) {
                if epoch < (claims[partition] ?? 0) { fenced.insert(partition) } else { claims[partition] = epoch }
            }
            if !fenced.isEmpty {
                let refused = message.changes.items.filter { $0.source.map(fenced.contains) ?? false }.count
                fencedDeltas += refused
                metrics?.fencedDeltas.increment(by: refused)
                logger.debug("item counts of an old owner refused", metadata: [
                    "instance": "\(message.instance)", "sequence": "\(message.sequence)", "partitions": "\(fenced.sorted())"])
            }
            if own && message.sequence <= (applied[instance] ?? 0) {
                // Held here already; only counts refused to everyone are taken back.
                if !fenced.isEmpty {
                    recommender.applyItemChanges(message.changes, includingTraining: false) { fenced.contains($0) ? -1 : 0 }
                }
            } else {
                recommender.applyItemChanges(message.changes) { fenced.contains($0) ? 0 : 1 }
                applied[message.instance] = message.sequence
            }
            if own { ownRead = message.sequence }
            for (partition, position) in message.positions where !fenced.contains(partition) {
                publishedPositions[partition] = max(publishedPositions[partition] ?? 0, position)
            }
            if !own {
                lastLagMilliseconds = max(0, wallMilliseconds - message.takenAtMilliseconds)
                metrics?.syncLag.record(Double(lastLagMilliseconds) / 1_000)
            }
        }
        if reachedEnd { caughtUp = true }
    }

    // MARK: State

    /// What the checkpoint keeps of the exchange (captured with the state, lock held).
    var state: ItemSyncState {
        ItemSyncState(logOffset: logOffset, applied: applied, ownRead: ownRead, publishedPositions: publishedPositions, claims: claims)
    }

    /// A value of the deltas or snapshots topic that did not decode.
    func countRefused() {
        refusedMessages += 1
        metrics?.refusedDeltas.increment()
    }

    /// Continues from a restored checkpoint: the log is read on from its offset, and nothing is
    /// published before that read reached the end.
    func restore(_ state: ItemSyncState) {
        logOffset = state.logOffset
        applied = state.applied
        ownRead = state.ownRead
        publishedPositions = state.publishedPositions
        claims = state.claims
        unpublished = []
        caughtUp = false
    }
}
