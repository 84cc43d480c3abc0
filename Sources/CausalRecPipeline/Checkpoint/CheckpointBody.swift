import CausalRecCore

/// The body of a checkpoint: the engine's state (recommender, drift monitor, click policy), then
/// the pipeline's own part (the partition each user's events arrive on). Decoding builds fresh
/// objects and checks everything before anything live is touched (`MessageProcessor` swaps them
/// in only when the whole body was accepted).
struct CheckpointBody {
    var engine: StreamEngine
    var userPartitions: [Int32]
    /// The item exchange's part, written last and only when instances share items (so a single
    /// instance's body is what it always was).
    var itemSync: ItemSyncState?

    /// Writes the body to `writer` (a checkpoint file's streaming writer, or memory).
    static func write(engine: StreamEngine, userPartitions live: LiveState, itemSync: ItemSyncState? = nil, to writer: inout StateWriter) {
        engine.writeState(to: &writer)
        writer.beginSection("PIPE")
        live.writeUserPartitions(to: &writer)
        writer.endSection()
        itemSync?.write(to: &writer)
    }

    /// The body in memory (tests; the service streams it to the file with `write`).
    static func encode(engine: StreamEngine, userPartitions live: LiveState) -> [UInt8] {
        var writer = StateWriter(reservingCapacity: 1 << 20)
        write(engine: engine, userPartitions: live, to: &writer)
        return writer.bytes
    }

    /// Reads a body into a new engine made by `makeEngine`; throws `StateReadError` naming what
    /// is wrong.
    static func decode(from reader: inout StateReader, layout: Int = OnlineRecommender.stateLayoutVersion, makeEngine: () -> StreamEngine) throws -> CheckpointBody {
        let engine = makeEngine()
        try engine.readState(from: &reader, layout: layout)
        try reader.beginSection("PIPE")
        let userPartitions = try LiveState.readUserPartitions(from: &reader, userCount: engine.recommender.users.count)
        try reader.endSection()
        let itemSync = reader.isAtEnd ? nil : try ItemSyncState.read(from: &reader)
        guard reader.isAtEnd else { throw StateReadError("\(reader.remaining) bytes after the end of the state") }
        return CheckpointBody(engine: engine, userPartitions: userPartitions, itemSync: itemSync)
    }

    static func decode(_ body: [UInt8], makeEngine: () -> StreamEngine) throws -> CheckpointBody {
        var reader = StateReader(body)
        return try decode(from: &reader, makeEngine: makeEngine)
    }
}
