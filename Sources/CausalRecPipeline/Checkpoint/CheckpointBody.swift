import CausalRecCore

/// The body of a checkpoint: the engine's state (recommender, drift monitor, click policy), then
/// the pipeline's own part (the partition each user's events arrive on). Decoding builds fresh
/// objects and checks everything before anything live is touched (`StreamProcessor` swaps them
/// in only when the whole body was accepted).
struct CheckpointBody {
    var engine: StreamEngine
    var userPartitions: [Int32]

    static func encode(engine: StreamEngine, userPartitions live: LiveState) -> [UInt8] {
        var writer = StateWriter(reservingCapacity: 1 << 20)
        engine.writeState(to: &writer)
        writer.beginSection("PIPE")
        live.writeUserPartitions(to: &writer)
        writer.endSection()
        return writer.bytes
    }

    /// Reads `body` into a new engine made by `makeEngine`; throws `StateReadError` naming what
    /// is wrong.
    static func decode(_ body: [UInt8], layout: Int = OnlineRecommender.stateLayoutVersion, makeEngine: () -> StreamEngine) throws -> CheckpointBody {
        let engine = makeEngine()
        var reader = StateReader(body)
        try engine.readState(from: &reader, layout: layout)
        try reader.beginSection("PIPE")
        let userPartitions = try LiveState.readUserPartitions(from: &reader, userCount: engine.recommender.users.count)
        try reader.endSection()
        guard reader.isAtEnd else { throw StateReadError("\(body.count - reader.position) bytes after the end of the state") }
        return CheckpointBody(engine: engine, userPartitions: userPartitions)
    }
}
