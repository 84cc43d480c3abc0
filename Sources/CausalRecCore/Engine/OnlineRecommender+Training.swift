/// Training entry points of the recommender; the work is the training part's (`TrainingQueue`).
/// Each applied step is one model version.
extension OnlineRecommender {
    /// Trains on already-resolved positives in batches of `trainingBatchSize` (one model version
    /// each), without recent positives — an epoch of an offline backtest. The positives must have been
    /// applied as clicks before (so the history knows them); order is the caller's.
    public func train(on positives: UnsafeBufferPointer<PositiveExample>) {
        modelVersion += Int64(training.train(on: positives, freeItems: ExcludedItems(sorted: freeItemsSorted)))
    }

    /// Trains on the queued positives now, even if fewer than a batch (end of a replay).
    public func flushTraining() {
        if training.pendingCount > 0 { trainPending() }
    }

    func trainPending() {
        if training.trainPending(freeItems: ExcludedItems(sorted: freeItemsSorted)) { modelVersion += 1 }
    }
}
