/// Merges per-partition streams (each in its own offset order) into one stream ordered by
/// (ts, partition, offset), emitting a record only once every partition that may still deliver
/// has something buffered — so a record is never overtaken by an earlier one that arrives later.
/// Within a partition the order is kept as is, even where `ts` goes backwards.
package struct ReplayMerger {
    private var queues: [Int32: [ReplayRecord]] = [:]
    private var heads: [Int32: Int] = [:]
    private var open: Set<Int32>

    package init(partitions: [Int32]) {
        open = Set(partitions)
        for partition in partitions {
            queues[partition] = []
            heads[partition] = 0
        }
    }

    package mutating func add(_ record: ReplayRecord) {
        queues[record.partition, default: []].append(record)
        if heads[record.partition] == nil { heads[record.partition] = 0 }
    }

    /// Open partitions with nothing buffered: the merge waits for them.
    package func starving() -> [Int32] {
        open.filter { heads[$0, default: 0] >= queues[$0, default: []].count }.sorted()
    }

    /// The partition delivers nothing more.
    package mutating func close(_ partition: Int32) {
        open.remove(partition)
    }

    /// Records that can be emitted now, in order.
    package mutating func drain() -> [ReplayRecord] {
        var out: [ReplayRecord] = []
        while let next = nextReady() { out.append(next) }
        compact()
        return out
    }

    private mutating func nextReady() -> ReplayRecord? {
        var best: (partition: Int32, record: ReplayRecord)?
        for (partition, queue) in queues {
            let head = heads[partition]!
            if head >= queue.count {
                if open.contains(partition) { return nil }
                continue
            }
            let record = queue[head]
            if best == nil || ReplayRecord.precedes(record, best!.record) { best = (partition, record) }
        }
        guard let best else { return nil }
        heads[best.partition]! += 1
        return best.record
    }

    private mutating func compact() {
        for (partition, head) in heads where head > 4_096 {
            queues[partition]!.removeFirst(head)
            heads[partition] = 0
        }
    }

    package var buffered: Int { queues.reduce(0) { $0 + $1.value.count - heads[$1.key]! } }
}
