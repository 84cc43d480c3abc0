/// The training part's checkpoint section: the random stream, the queued and recent positives
/// and the sampler's own state — what the next batches depend on.
extension TrainingQueue {
    func writeState(to writer: inout StateWriter) {
        writer.beginSection("TRAN")
        writer.write(lastLoss)
        writer.write(random)
        writePositives(to: &writer)
        writeSampler(to: &writer)
        writer.endSection()
    }

    func readState(from reader: inout StateReader, userCount: Int, itemCount: Int) throws {
        try reader.beginSection("TRAN")
        lastLoss = try reader.readFloat()
        random = try reader.readRandom()
        try readPositives(from: &reader, userCount: userCount, itemCount: itemCount)
        try readSampler(from: &reader)
        try reader.endSection()
    }

    // The pieces, also read one by one from the layouts before 5, which interleaved them with
    // other parts' fields.

    func writePositives(to writer: inout StateWriter) {
        for positives in [pending, recentPositives.storage] {
            writer.write(positives.count)
            for positive in positives {
                writer.write(positive.user)
                writer.write(positive.item)
                writer.write(positive.timestamp)
                writer.write(positive.exposure)
            }
        }
        writer.write(recentPositives.next)
    }

    func readPositives(from reader: inout StateReader, userCount: Int, itemCount: Int) throws {
        var lists: [[PositiveExample]] = []
        for what in ["queued positives", "recent positives"] {
            lists.append(try reader.readList(elementSize: 20, what) { reader in
                let positive = PositiveExample(user: try reader.readInt32(), item: try reader.readInt32(),
                                               timestamp: try reader.readTime("the time of a positive"),
                                               exposure: try reader.readFiniteFloat("the tables.exposure of a positive"))
                guard positive.exposure >= 0 else { throw StateReadError("\(what): a negative tables.exposure") }
                guard positive.user >= 0, Int(positive.user) < userCount, positive.item >= 0, Int(positive.item) < itemCount else {
                    throw StateReadError("\(what): a positive names a row that does not exist")
                }
                return positive
            })
        }
        // A legitimate state queues fewer than one batch (the largest batch size allowed).
        try StateCheck.require(lists[0].count <= 65_536, "queued positives: \(lists[0].count) is more than a batch")
        guard let ring = RingBuffer(restoring: lists[1], next: try reader.readInt(), capacity: configuration.recentPositivesCapacity) else {
            throw StateReadError("the recent positives' position is outside its \(lists[1].count) entries")
        }
        pending = lists[0]
        recentPositives = ring
    }

    func writeSampler(to writer: inout StateWriter) {
        writer.beginSection("SAMP")
        sampler.writeState(to: &writer)
        writer.endSection()
    }

    func readSampler(from reader: inout StateReader) throws {
        try reader.beginSection("SAMP")
        try sampler.readState(from: &reader)
        try reader.endSection()
    }

    /// Checks against the other parts: no positive names a free row; the sampler's own checks.
    func validateRestored(_ context: RestoredStateContext) throws {
        for (what, positives) in [("queued positives", pending), ("recent positives", recentPositives.storage)] {
            try StateCheck.disjoint(positives.map(\.item), from: context.freeItems, what)
            try StateCheck.disjoint(positives.map(\.user), from: context.freeUsers, what)
        }
        try sampler.validateRestored(context)
    }
}
