/// Checkpoint state: everything the recommender's future outputs depend on, written and read in
/// one fixed layout, and checked across parts on the way in.
extension OnlineRecommender {
    /// Version of the checkpoint body layout this build writes. Layout 6 made `cnsdiff` the
    /// second version of the sampler (the first is `cnsdiff-v1`); layout 5 gave each part of the
    /// recommender its own section; layout 4 added the event clock's sources. This build still
    /// reads layouts 3 to 5 (`readableStateLayouts`), so an upgrade resumes from the checkpoints
    /// of earlier releases; the golden bodies in the tests pin every layout's bytes.
    public static let stateLayoutVersion = 6
    public static let readableStateLayouts: ClosedRange<Int> = 3...6

    /// Everything the recommender's future outputs depend on — ids, embeddings and optimizer
    /// state, exposure, history, the evaluator, the clock, then each part's section — so a
    /// restored recommender continues bit for bit as if it had never stopped.
    public func writeState(to writer: inout StateWriter) {
        writer.beginSection("RECO")
        writer.write(training.samplerName)
        writer.write(modelVersion)
        writer.write(applied.impressions)
        writer.write(applied.clicks)
        writer.write(applied.requests)
        writer.write(applied.forgets)
        writer.write(impressionsSeen)
        users.writeState(to: &writer)
        items.writeState(to: &writer)
        model.writeState(to: &writer)
        exposure.writeState(to: &writer)
        history.writeState(to: &writer)
        evaluator.writeState(to: &writer)
        writer.beginSection("CLCK")
        clock.writeState(to: &writer)
        writer.endSection()
        training.writeState(to: &writer)
        ranking.writeState(to: &writer)
        retention.writeState(to: &writer)
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
        guard layout >= 5 else { return try readLayoutBefore5(from: &reader, layout: layout) }
        try readHeader(from: &reader, layout: layout)
        applied.forgets = try reader.readCounter("applied forgets")
        impressionsSeen = try reader.readBool()
        try readSharedTables(from: &reader)
        try reader.beginSection("CLCK")
        try clock.readState(from: &reader, layout: layout)
        try reader.endSection()
        try training.readState(from: &reader, userCount: users.count, itemCount: items.count)
        try ranking.readState(from: &reader, itemCount: items.count)
        try retention.readState(from: &reader, userCount: users.count, itemCount: items.count)
        try reader.endSection()
        try validateRestored()
        restartSharing()
    }

    /// Layouts 3 and 4: one section with the parts' fields interleaved, retention's and the
    /// sampler's sections nested at its end.
    private func readLayoutBefore5(from reader: inout StateReader, layout: Int) throws {
        try readHeader(from: &reader, layout: layout)
        training.lastLoss = try reader.readFloat()
        training.random = try reader.readRandom()
        impressionsSeen = try reader.readBool()
        try readSharedTables(from: &reader)
        try training.readPositives(from: &reader, userCount: users.count, itemCount: items.count)
        try ranking.readFields(from: &reader, itemCount: items.count)
        try reader.beginSection("RETN")
        applied.forgets = try reader.readCounter("applied forgets")
        try retention.readTimesAndWaiting(from: &reader, userCount: users.count, itemCount: items.count)
        try clock.readState(from: &reader, layout: layout)
        try retention.readCounters(from: &reader)
        try reader.endSection()
        try training.readSampler(from: &reader)
        try reader.endSection()
        try validateRestored()
        restartSharing()
    }

    /// The section's start, alike in every layout: the sampler, the model version, the counts.
    private func readHeader(from reader: inout StateReader, layout: Int) throws {
        try reader.beginSection("RECO")
        let stored = try reader.readString()
        // Before layout 6, `cnsdiff` named the first version, which `cnsdiff-v1` continues; the
        // second version cannot take over its state.
        let named = layout < 6 && stored == SamplerKind.cnsdiff.rawValue ? SamplerKind.cnsdiffV1.rawValue : stored
        if named != stored && training.samplerName == SamplerKind.cnsdiff.rawValue {
            throw StateReadError("it holds the state of CNSDiff version 1 (layout \(layout)), which sampler cnsdiff (version 2) cannot continue; configure sampler.name cnsdiff-v1 to resume it, or start fresh")
        }
        try reader.expect(named, equals: training.samplerName, "sampler.name")
        modelVersion = Int64(try reader.readCounter("model_version"))
        applied.impressions = try reader.readCounter("applied impressions")
        applied.clicks = try reader.readCounter("applied clicks")
        applied.requests = try reader.readCounter("applied requests")
    }

    /// The tables every part reads, which must agree with each other in size.
    private func readSharedTables(from reader: inout StateReader) throws {
        try users.readState(from: &reader, "user ids")
        try items.readState(from: &reader, "item ids")
        try model.readState(from: &reader)
        try exposure.readState(from: &reader)
        try history.readState(from: &reader)
        try evaluator.readState(from: &reader)
        guard users.count == model.userCount, items.count == model.itemCount, items.count == exposure.itemCount else {
            throw StateReadError("the id tables (\(users.count) users, \(items.count) items) disagree with the embeddings (\(model.userCount), \(model.itemCount))")
        }
        freeItemsSorted = items.freeRows.sorted()
    }

    /// Checks across parts: every row a part of the state names exists and is in use.
    func validateRestored() throws {
        try StateCheck.require(users.count <= Int(Int32.max) && items.count <= Int(Int32.max), "the id tables are too large")
        let freeUsers = users.freeRows.sorted()
        try history.validateRestored(userCount: users.count, itemCount: items.count, freeUsers: freeUsers, freeItems: freeItemsSorted)
        try ranking.validateRestored(itemCount: items.count, freeItems: freeItemsSorted)
        for row in freeItemsSorted where exposure.weights[Int(row)] != 0 {
            throw StateReadError("the free item row \(row) has exposure")
        }
        try StateCheck.require(evaluator.total.evaluated <= applied.clicks && evaluator.clicksObserved <= applied.clicks,
                               "the evaluator saw more clicks (\(evaluator.clicksObserved)) than were applied (\(applied.clicks))")
        try training.validateRestored(RestoredStateContext(userCount: users.count, itemCount: items.count, freeUsers: freeUsers,
                                                           freeItems: freeItemsSorted, exposuresRecorded: exposure.recordedCount,
                                                           environmentCount: configuration.exposure.environmentCount))
    }
}
