import CausalRecCore
import Kafka

/// What a checkpoint is taken from and restored into (the stream processor): the state with the
/// positions it reflects, captured together between batches; the outputs to settle before the
/// positions are recorded; the commit of recorded positions.
protocol CheckpointSource: AnyObject {
    var samplerName: String { get }
    /// Holds the state still (between batches) while `save` runs, handing it what the header
    /// reports and a function that writes the body: the body is written straight to its file
    /// from the live state, never copied whole, and agrees with the positions.
    /// Throws, writing nothing, when the state is one the reader would refuse (a non-finite model).
    func captureState<Result>(_ save: (CheckpointCapture, _ writeBody: (inout StateWriter) -> Void) throws -> Result) throws -> Result
    func settleOutputs(timeout: Duration) throws
    /// Writes the users' changelog records the capture took (after the outputs settled, before
    /// the local file and the commit); `discardChangelog` keeps their users changed when the
    /// checkpoint is given up before that.
    func writeChangelog(of capture: CheckpointCapture) throws
    func discardChangelog(of capture: CheckpointCapture)
    func commitCheckpointed(_ positions: [KafkaTopicPartition: Int64]) throws
    /// Reads the body from `reader` into a new state that replaces the live one only once all of
    /// it was accepted. `layout` is the stored state layout.
    func restoreState(from reader: inout StateReader, layout: Int, positions: [KafkaTopicPartition: Int64]) throws
}

/// A state captured for a checkpoint: the input positions it reflects and what the header
/// reports about it.
struct CheckpointCapture {
    var positions: [KafkaTopicPartition: Int64]
    var applied: Int
    var modelVersion: Int64
    var generatorVersion: Int
    var dimension: Int
    /// With several instances: what the users' changelog gets.
    var changelog: ChangelogFlush?
}
