/// Checkpoint state: everything the recommender's future outputs depend on, written and read in
/// one fixed layout, and checked across components on the way in.
extension OnlineRecommender {
    /// Version of the checkpoint body layout this build writes. Layout 4 added the event clock's
    /// sources; this build still reads layout 3 (`readableStateLayouts`), so an upgrade resumes
    /// from the checkpoints of the previous release.
    public static let stateLayoutVersion = 4
    public static let readableStateLayouts: ClosedRange<Int> = 3...4

    /// Everything the recommender's future outputs depend on, in the layout `readState` reads:
    /// ids, embeddings and optimizer state, exposure, history, the sampler (with the denoiser),
    /// the random stream, the positives queued for the next batch and the replay ring — so a
    /// restored recommender continues bit for bit as if it had never stopped.
    public func writeState(to writer: inout StateWriter) {
        writer.beginSection("RECO")
        writer.write(sampler.name)
        writer.write(modelVersion)
        writer.write(applied.impressions)
        writer.write(applied.clicks)
        writer.write(applied.requests)
        writer.write(lastTrainingLoss)
        writer.write(random)
        writer.write(impressionsSeen)
        users.writeState(to: &writer)
        items.writeState(to: &writer)
        model.writeState(to: &writer)
        exposure.writeState(to: &writer)
        history.writeState(to: &writer)
        evaluator.writeState(to: &writer)
        for positives in [pending, replay.storage] {
            writer.write(positives.count)
            for positive in positives {
                writer.write(positive.user)
                writer.write(positive.item)
                writer.write(positive.timestamp)
                writer.write(positive.exposure)
            }
        }
        writer.write(replay.next)
        mostExposedCache.writeState(to: &writer)
        mostClickedCache.writeState(to: &writer)
        adjustment.writeState(to: &writer)
        rankingExponent.writeState(to: &writer)
        coldStartExponent.writeState(to: &writer)
        writer.beginSection("RETN")
        writer.write(applied.forgets)
        writer.write(userLastSeen)
        writer.write(itemLastSeen)
        for waiting in [waitingUsers, waitingItems] {
            writer.write(waiting.count)
            // Sorted: a dictionary's order differs from process to process.
            for (identifier, entry) in waiting.sorted(by: { $0.key < $1.key }) {
                writer.write(identifier)
                writer.write(entry.count)
                writer.write(entry.lastSeen)
            }
        }
        clock.writeState(to: &writer)
        writer.write(eventsSinceSweep)
        writer.write(evictedUsers)
        writer.write(evictedItems)
        writer.endSection()
        writer.beginSection("SAMP")
        sampler.writeState(to: &writer)
        writer.endSection()
        writer.endSection()
    }

    /// Replaces this (freshly made) recommender's state with a stored one. The configuration
    /// must agree on what shapes the state (dimension, sampler, exposure environments); learning
    /// rates and other settings may change between runs. `layout` is the stored layout version
    /// (one of `readableStateLayouts`).
    public func readState(from reader: inout StateReader, layout: Int = stateLayoutVersion) throws {
        guard Self.readableStateLayouts.contains(layout) else {
            throw StateReadError("state layout \(layout) is not one this build reads (\(Self.readableStateLayouts))")
        }
        try reader.beginSection("RECO")
        try reader.expect(try reader.readString(), equals: sampler.name, "sampler.name")
        modelVersion = Int64(try reader.readCounter("model_version"))
        applied.impressions = try reader.readCounter("applied impressions")
        applied.clicks = try reader.readCounter("applied clicks")
        applied.requests = try reader.readCounter("applied requests")
        lastTrainingLoss = try reader.readFloat()
        random = try reader.readRandom()
        impressionsSeen = try reader.readBool()
        try users.readState(from: &reader, "user ids")
        try items.readState(from: &reader, "item ids")
        try model.readState(from: &reader)
        try exposure.readState(from: &reader)
        try history.readState(from: &reader)
        try evaluator.readState(from: &reader)
        var lists: [[PositiveExample]] = []
        for what in ["queued positives", "replayed positives"] {
            let count = try reader.readCount(elementSize: 20, what)
            var positives: [PositiveExample] = []
            positives.reserveCapacity(count)
            for _ in 0..<count {
                let positive = PositiveExample(user: try reader.readInt32(), item: try reader.readInt32(),
                                               timestamp: try reader.readTime("the time of a positive"),
                                               exposure: try reader.readFiniteFloat("the exposure of a positive"))
                guard positive.exposure >= 0 else { throw StateReadError("\(what): a negative exposure") }
                guard positive.user >= 0, Int(positive.user) < users.count, positive.item >= 0, Int(positive.item) < items.count else {
                    throw StateReadError("\(what): a positive names a row that does not exist")
                }
                positives.append(positive)
            }
            lists.append(positives)
        }
        pending = lists[0]
        // A legitimate state queues fewer than one batch (the largest batch size allowed).
        try StateCheck.require(pending.count <= 65_536, "queued positives: \(pending.count) is more than a batch")
        guard let ring = RingBuffer(restoring: lists[1], next: try reader.readInt(), capacity: configuration.replayCapacity) else {
            throw StateReadError("the replay ring's position is outside its \(lists[1].count) entries")
        }
        replay = ring
        guard users.count == model.userCount, items.count == model.itemCount, items.count == exposure.itemCount else {
            throw StateReadError("the id tables (\(users.count) users, \(items.count) items) disagree with the embeddings (\(model.userCount), \(model.itemCount))")
        }
        try mostExposedCache.readState(from: &reader)
        try mostClickedCache.readState(from: &reader)
        try adjustment.readState(from: &reader, itemCount: items.count)
        try rankingExponent.readState(from: &reader)
        try coldStartExponent.readState(from: &reader)
        try reader.beginSection("RETN")
        applied.forgets = try reader.readCounter("applied forgets")
        userLastSeen = try reader.readIntArray()
        itemLastSeen = try reader.readIntArray()
        let limit = Int(StateReader.magnitudeLimit)
        for time in userLastSeen + itemLastSeen where time < -limit || time > limit {
            throw StateReadError("a last-seen time of \(time) is out of range")
        }
        guard userLastSeen.count == users.count, itemLastSeen.count == items.count else {
            throw StateReadError("the last-seen times (\(userLastSeen.count) users, \(itemLastSeen.count) items) disagree with the id tables")
        }
        var waiting: [[String: AdmissionCount]] = []
        for what in ["users waiting for admission", "items waiting for admission"] {
            let count = try reader.readCount(elementSize: 24, what)
            var entries: [String: AdmissionCount] = [:]
            var previous: String?
            for _ in 0..<count {
                let identifier = try reader.readString()
                // Sorted and unique, as written; counts are below the admission threshold.
                guard previous.map({ $0 < identifier }) ?? true, !identifier.isEmpty else {
                    throw StateReadError("\(what): ids are not sorted and unique")
                }
                previous = identifier
                let entry = AdmissionCount(count: try reader.readCounter(what), lastSeen: try reader.readTime(what))
                guard entry.count >= 1, entry.count <= 1 << 31 else { throw StateReadError("\(what): a count of \(entry.count)") }
                entries[identifier] = entry
            }
            waiting.append(entries)
        }
        waitingUsers = waiting[0]
        waitingItems = waiting[1]
        try clock.readState(from: &reader, layout: layout)
        eventsSinceSweep = try reader.readCounter("events since the last sweep")
        evictedUsers = try reader.readCounter("evicted users")
        evictedItems = try reader.readCounter("evicted items")
        freeItemsSorted = items.freeRows.sorted()
        try reader.endSection()
        try reader.beginSection("SAMP")
        try sampler.readState(from: &reader)
        try reader.endSection()
        try reader.endSection()
        try validateRestored()
    }

    /// Checks that cross components: every row a part of the state names exists and is in use.
    func validateRestored() throws {
        try StateCheck.require(users.count <= Int(Int32.max) && items.count <= Int(Int32.max), "the id tables are too large")
        let freeUsers = users.freeRows.sorted()
        try history.validateRestored(userCount: users.count, itemCount: items.count, freeUsers: freeUsers, freeItems: freeItemsSorted)
        for (what, positives) in [("queued positives", pending), ("replayed positives", replay.storage)] {
            try StateCheck.disjoint(positives.map(\.item), from: freeItemsSorted, what)
            try StateCheck.disjoint(positives.map(\.user), from: freeUsers, what)
        }
        for (what, cache, version) in [("the most-exposed list", mostExposedCache, exposure.recordedCount),
                                       ("the most-clicked list", mostClickedCache, history.totalClicks)]
        {
            try cache.validateRestored(itemCount: items.count, freeItems: freeItemsSorted, version: version, what)
        }
        for row in freeItemsSorted where exposure.weights[Int(row)] != 0 {
            throw StateReadError("the free item row \(row) has exposure")
        }
        try StateCheck.require(evaluator.total.evaluated <= applied.clicks && evaluator.clicksObserved <= applied.clicks,
                               "the evaluator saw more clicks (\(evaluator.clicksObserved)) than were applied (\(applied.clicks))")
        try sampler.validateRestored(RestoredStateContext(userCount: users.count, itemCount: items.count, freeUsers: freeUsers,
                                                          freeItems: freeItemsSorted, exposuresRecorded: exposure.recordedCount,
                                                          environmentCount: configuration.exposure.environmentCount))
    }
}
