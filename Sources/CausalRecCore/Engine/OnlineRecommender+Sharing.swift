/// Item state shared by instances (`RecommenderConfiguration.sharesItems`): each instance takes
/// the changes it made to items and publishes them; every other instance adds them to its own
/// copy. Users stay with the instance that owns their partition; items are everyone's.
extension OnlineRecommender {
    /// This instance's share of the group's input: `owned` of `total` partitions. With items
    /// shared, `trainingBatchSize` is the batch of the whole group, and each instance steps after
    /// its share of it (at least one positive). A step of lazy Adam moves each row it touches
    /// about one learning rate whatever the number of the row's examples in it, so what counts is
    /// how many steps see a row. An instance that reads a third of the users and stepped after a
    /// full batch would hold three times as many examples of each of its users per step, and its
    /// users would be stepped less often than one instance reading everything steps them
    /// (measured 14 % fewer user steps and 0.875× its true NDCG@20 with 3 instances; with the
    /// share, 0.98×: BENCHMARKS.md, "Several instances"). The group as a whole then takes as
    /// many steps per event as one instance would.
    public func setTrainingShare(owned: Int, of total: Int) {
        precondition(total > 0 && owned >= 0 && owned <= total, "a share of \(owned) of \(total) partitions")
        let size = configuration.trainingBatchSize
        training.batchSize = max(1, Int((Double(size) * Double(owned) / Double(total)).rounded()))
    }

    /// Every change made here to items since the last call, marked published: training's
    /// changes of embeddings and biases first, then click counts and exposure per source. Empty
    /// unless items are shared.
    public func takeItemChanges() -> ItemChanges {
        guard let sharing else { return ItemChanges() }
        var deltas: [ItemDelta] = []
        for index in 0..<items.count {
            let row = Int32(index)
            guard items.isActive(row),
                  let delta = sharing.take(row, values: model.items.row(row), bias: model.itemBias[index], identifier: items.identifier(of: row))
            else { continue }
            deltas.append(delta)
        }
        deltas += sharing.countedDeltas { items.identifier(of: $0) }
        let anchor = sharing.clearCounts()
        return ItemChanges(items: deltas, exposureTime: anchor ?? clock.latest, modelVersion: modelVersion, impressionsSeen: impressionsSeen)
    }

    /// Changes taken but not published after all (their publication failed): they are counted
    /// as changes again, to be taken by the next call.
    public func returnItemChanges(_ changes: ItemChanges) {
        guard let sharing else { return }
        for delta in changes.items {
            guard let row = items.row(for: delta.item) else { continue }
            if !delta.embedding.isEmpty || delta.bias != 0 {
                sharing.addPublished(row, embedding: delta.embedding.map { -$0 }, bias: -delta.bias)
            }
            guard let source = delta.source else { continue }
            if delta.clicks != 0 { sharing.countClick(row, by: delta.clicks, source: source) }
            if delta.exposure != 0 { sharing.countExposure(row, at: changes.exposureTime, amount: delta.exposure, source: source) }
        }
    }

    /// Adds changes published by an instance. An item not known here gets a row at once (another
    /// instance admitted it) and starts from the same values as there (`model.item_init: id`).
    ///
    /// `includingTraining: false` leaves embeddings and biases alone (this instance's own changes,
    /// which it holds already); `countSign(source)` says how each source's counts are added: 1 as
    /// they are, 0 not at all (refused), −1 taken away again (this instance's own counts of a
    /// source it had lost when they were published).
    public func applyItemChanges(_ changes: ItemChanges, includingTraining: Bool = true, countSign: (Int32) -> Int32 = { _ in 1 }) {
        guard let sharing else { return }
        precondition(changes.items.allSatisfy { $0.embedding.isEmpty || $0.embedding.count == model.dimension },
                     "an item delta of another dimension")
        if changes.impressionsSeen { impressionsSeen = true }
        var changed = false
        for delta in changes.items {
            let sign = delta.source.map(countSign) ?? 0
            let trains = includingTraining && (!delta.embedding.isEmpty || delta.bias != 0)
            guard trains || (sign != 0 && (delta.clicks != 0 || delta.exposure != 0)) else { continue }
            let row = items.row(for: delta.item) ?? newItemRow(delta.item, at: clock.latest)
            if trains {
                if !delta.embedding.isEmpty {
                    let values = model.items.row(row)
                    for (column, change) in delta.embedding.enumerated() { values[column] += change }
                }
                model.itemBias[Int(row)] += delta.bias
                sharing.addPublished(row, embedding: delta.embedding, bias: delta.bias)
                model.changedItems.mark(row)
            }
            if sign != 0 {
                if delta.clicks != 0 { history.adjustClickCount(of: row, by: sign * delta.clicks) }
                if delta.exposure != 0 { exposure.record(item: row, at: changes.exposureTime, amount: Double(sign) * delta.exposure) }
            }
            changed = true
        }
        modelVersion = max(modelVersion, changes.modelVersion)
        if changed { ranking.rowsReleased() }
    }

    /// Every active item as held here. Meant for the moment right after an exchange, when nothing
    /// is changed since the last take: the items then are exactly what the exchanged changes add
    /// up to. Exposure weights are given at the estimator's reference time, where they are its
    /// stored weights as they are (at any other time a weight is scaled by the decay since, which
    /// can overflow when the times are far apart).
    public func sharedItemStates() -> (items: [SharedItemState], exposureTime: Int64, impressionsSeen: Bool) {
        let time = exposure.referenceTime ?? clock.latest
        var states: [SharedItemState] = []
        for index in 0..<items.count {
            let row = Int32(index)
            guard items.isActive(row) else { continue }
            let values = model.items.row(row)
            states.append(SharedItemState(item: items.identifier(of: row), clicks: history.clickCounts[index],
                                          exposure: exposure.exposure(of: row, at: time), bias: model.itemBias[index],
                                          embedding: (0..<model.dimension).map { values[$0] }))
        }
        return (states, time, impressionsSeen)
    }

    /// Sets items to the states of a snapshot (a new instance, before it reads the changes
    /// published after it): values are set, not added, and count as published.
    public func installSharedItems(_ states: [SharedItemState], exposureTime: Int64, modelVersion: Int64, impressionsSeen: Bool) {
        precondition(states.allSatisfy { $0.embedding.count == model.dimension }, "a shared item of another dimension")
        if impressionsSeen { self.impressionsSeen = true }
        for state in states {
            let row = items.row(for: state.item) ?? newItemRow(state.item, at: exposureTime)
            let values = model.items.row(row)
            for (column, value) in state.embedding.enumerated() { values[column] = value }
            model.itemBias[Int(row)] = state.bias
            history.adjustClickCount(of: row, by: state.clicks &- history.clickCounts[Int(row)])
            let held = exposure.exposure(of: row, at: exposureTime)
            if state.exposure != held { exposure.record(item: row, at: exposureTime, amount: state.exposure - held) }
            sharing?.started(row, values: values, bias: state.bias)
            model.changedItems.mark(row)
        }
        self.modelVersion = max(self.modelVersion, modelVersion)
        if !states.isEmpty { ranking.rowsReleased() }
    }

    /// After a restore: every row is as published (a checkpoint is written right after its
    /// changes were taken), nothing is counted.
    func restartSharing() {
        guard let sharing else { return }
        _ = sharing.clearCounts()
        for index in 0..<items.count {
            sharing.started(Int32(index), values: model.items.row(Int32(index)), bias: model.itemBias[index])
        }
    }
}
