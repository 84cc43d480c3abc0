/// The readable header of a checkpoint file: what it belongs to, where in the input it stands,
/// and enough about its body to refuse it before decoding.
public struct CheckpointMetadata: Sendable, Equatable, Codable {
    public struct PartitionOffset: Sendable, Equatable, Codable {
        public var partition: Int32
        /// The next offset to read: every event before it is in the state, none after.
        public var offset: Int64

        public init(partition: Int32, offset: Int64) {
            self.partition = partition
            self.offset = offset
        }
    }

    /// Layout of the recommender's part of the body (`OnlineRecommender.stateLayoutVersion`).
    public var stateLayout: Int
    /// Increases with every checkpoint in a directory; the file name carries it.
    public var sequence: Int
    /// Wall-clock time of writing (epoch ms), for checkpoint age; never read by the learner.
    public var writtenAtMilliseconds: Int64
    public var identity: CheckpointIdentity
    public var offsets: [PartitionOffset]
    /// Valid events applied to the state, over the whole life of the state (across restarts).
    public var appliedEvents: Int
    public var modelVersion: Int64
    public var generatorVersion: Int
    public var sampler: String
    public var dimension: Int
    /// Identifies one line of descent of states: a fresh start draws a new one and every
    /// checkpoint restored from it, and written after, carries it. Retention deletes only
    /// checkpoints of the running lineage, never those of another (say, the state a
    /// `--fresh-state` run started beside).
    public var lineage: String?

    public init(stateLayout: Int, sequence: Int, writtenAtMilliseconds: Int64, identity: CheckpointIdentity,
                offsets: [PartitionOffset], appliedEvents: Int, modelVersion: Int64, generatorVersion: Int,
                sampler: String, dimension: Int)
    {
        self.stateLayout = stateLayout
        self.sequence = sequence
        self.writtenAtMilliseconds = writtenAtMilliseconds
        self.identity = identity
        self.offsets = offsets
        self.appliedEvents = appliedEvents
        self.modelVersion = modelVersion
        self.generatorVersion = generatorVersion
        self.sampler = sampler
        self.dimension = dimension
    }
}
