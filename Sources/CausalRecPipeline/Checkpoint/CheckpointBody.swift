import CausalRecCore

/// The body of a checkpoint: the recommender's state, then the pipeline's own part (the last
/// event time, click-publication times, users' partitions, the drift monitor). Decoding builds
/// fresh objects and checks everything before anything live is touched (`StreamProcessor`
/// swaps them in only when the whole body was accepted).
struct CheckpointBody {
    var recommender: OnlineRecommender
    var lastTimestamp: Int64
    var publisher: RecommendationPublisher.SavedState
    var userPartitions: [Int32]
    var drift: DriftMonitor?

    static func encode(recommender: OnlineRecommender, lastTimestamp: Int64, publisher: RecommendationPublisher,
                       userPartitions live: LiveState, drift: DriftMonitor?) -> [UInt8]
    {
        var writer = StateWriter(reservingCapacity: 1 << 20)
        recommender.writeState(to: &writer)
        writer.beginSection("PIPE")
        writer.write(lastTimestamp)
        publisher.writeState(to: &writer)
        live.writeUserPartitions(to: &writer)
        writer.write(drift != nil)
        drift?.writeState(to: &writer)
        writer.endSection()
        return writer.bytes
    }

    /// Reads `body` into a new recommender made by `makeRecommender` (and a new drift monitor
    /// when `drift` is given); throws `StateReadError` naming what is wrong.
    static func decode(_ body: [UInt8], makeRecommender: () -> OnlineRecommender,
                       drift configuration: DriftConfiguration?) throws -> CheckpointBody
    {
        let recommender = makeRecommender()
        let drift = configuration.map { DriftMonitor(configuration: $0) }
        var reader = StateReader(body)
        try recommender.readState(from: &reader)
        try reader.beginSection("PIPE")
        let lastTimestamp = try reader.readTime("the last event time")
        let publisher = try RecommendationPublisher.readState(from: &reader)
        let userPartitions = try LiveState.readUserPartitions(from: &reader, userCount: recommender.users.count)
        let hasDrift = try reader.readBool()
        try reader.expect(hasDrift, equals: drift != nil, "drift.enabled")
        try drift?.readState(from: &reader)
        try drift?.validateRestored(evaluated: recommender.evaluator.total)
        try reader.endSection()
        guard reader.isAtEnd else { throw StateReadError("\(body.count - reader.position) bytes after the end of the state") }
        return CheckpointBody(recommender: recommender, lastTimestamp: lastTimestamp, publisher: publisher,
                              userPartitions: userPartitions, drift: drift)
    }
}
