import Kafka

/// What a checkpoint is taken from and restored into (the stream processor): the state with the
/// positions it reflects, captured together between batches; the outputs to settle before the
/// positions are recorded; the commit of recorded positions.
protocol CheckpointSource: AnyObject {
    var samplerName: String { get }
    func captureState() -> CheckpointCapture
    func settleOutputs(timeout: Duration) throws
    func commitCheckpointed(_ positions: [KafkaTopicPartition: Int64]) throws
    func restoreState(body: [UInt8], layout: Int, positions: [KafkaTopicPartition: Int64]) throws
}

/// A state captured for a checkpoint: the body, the input positions it reflects, and what the
/// header reports about it.
struct CheckpointCapture {
    var body: [UInt8]
    var positions: [KafkaTopicPartition: Int64]
    var applied: Int
    var modelVersion: Int64
    var generatorVersion: Int
    var dimension: Int
}
