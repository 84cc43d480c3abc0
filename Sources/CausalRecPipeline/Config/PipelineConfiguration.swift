import CausalRecCore

/// Everything `causalrec run` reads from pipeline.yaml. Defaults are the values documented in
/// docs/configuration.md; `PipelineConfiguration.load` reads the file strictly.
public struct PipelineConfiguration: Sendable, Equatable {
    /// Where the Kafka cluster is.
    public enum Brokers: Sendable, Equatable {
        /// librdkafka's in-process mock cluster (demo, trying things out).
        case embedded
        /// host:port bootstrap addresses of a real cluster.
        case servers([String])

        public var description: String {
            switch self {
            case .embedded: "embedded"
            case let .servers(list): list.joined(separator: ",")
            }
        }
    }

    public struct Topics: Sendable, Equatable {
        public var events = "events"
        public var recommendations = "recommendations"
        public var alerts = "alerts"
        public var deadLetter = "events.dlq"
        /// Create missing topics at start-up with this many partitions.
        public var create = true
        public var partitions = 3
        public var replicationFactor = 1
    }

    public struct Consumer: Sendable, Equatable {
        /// Most messages handed over per poll.
        public var batchSize = 1_000
        public var pollTimeoutMilliseconds = 100
        /// Commit processed offsets at least this often.
        public var commitIntervalMilliseconds = 5_000
    }

    public struct Producer: Sendable, Equatable {
        public var lingerMilliseconds = 5
        /// librdkafka's message.timeout.ms; 0 = retry until delivered. A delivery that gives up
        /// would lose an output, so the default waits out broker outages instead.
        public var deliveryTimeoutMilliseconds = 0
        /// How long a send may wait for room in a full local queue before the service fails.
        public var queueFullTimeoutMilliseconds = 30_000
        /// Bound on the flush before each commit and at shutdown.
        public var flushTimeoutMilliseconds = 30_000
    }

    public struct Publishing: Sendable, Equatable {
        /// k of a request that does not say.
        public var defaultK = 20
        /// Also publish fresh recommendations after a click.
        public var onClick = false
        /// At most one click-triggered publication per user in this much event time.
        public var clickMinIntervalSeconds = 60.0
    }

    public struct Progress: Sendable, Equatable {
        public var intervalSeconds = 10.0
    }

    /// Where and how often the learning state is saved: checkpoints with the positions they reflect (README.md, "Delivery and state").
    public struct Checkpointing: Sendable, Equatable {
        public var enabled = true
        /// `run --checkpoint-dir` overrides this.
        public var directory = "checkpoints"
        /// Write after this many input messages …
        public var everyEvents = 100_000
        /// … or this much wall time, whichever comes first (and at shutdown).
        public var everySeconds = 60.0
        /// Checkpoints kept; older ones are deleted.
        public var keep = 3
        /// `/ready` fails when the newest checkpoint is older than this while events flow.
        public var maxAgeSeconds = 300.0
    }

    /// The HTTP endpoint for /metrics, /health, /ready and /recommendations.
    public struct HTTPSettings: Sendable, Equatable {
        public var enabled = true
        public var host = "127.0.0.1"
        public var port = 9464
        public var maxConnections = 64
        public var maxConnectionsPerPeer = 16
        public var requestTimeoutSeconds = 5.0
        public var idleTimeoutSeconds = 30.0
        public var maxRequestBytes = 65_536
    }

    /// Several instances in one consumer group: each input partition's users live in the users'
    /// changelog, written at every checkpoint and read by the partition's next owner.
    public struct ScaleOut: Sendable, Equatable {
        public var enabled = false
        /// The compacted changelog topic; nil = `<group>-users-changelog`.
        public var changelogTopic: String?
        /// The one-partition topic of item deltas; nil = `<group>-model-deltas`.
        public var deltasTopic: String?
        /// How often an instance publishes its item changes and applies the others'.
        public var syncIntervalMilliseconds = 1_000
        /// The compacted one-partition topic of item snapshots; nil = `<group>-model-snapshots`.
        public var snapshotsTopic: String?
        /// How often the owner of input partition 0 writes a snapshot of the items (0 = never:
        /// a new instance then reads every item delta).
        public var snapshotIntervalMilliseconds = 300_000
    }

    /// How a rejected message is copied to the dead-letter topic.
    public struct DeadLetter: Sendable, Equatable {
        /// Key and payload up to this size are copied whole; larger ones are cut.
        public var maxPayloadBytes = 65_536
        /// Bytes of payload (and key) a cut record keeps.
        public var prefixBytes = 1_024
    }

    public var brokers: Brokers = .embedded
    public var groupID = "causalrec"
    public var topics = Topics()
    /// librdkafka properties passed through unchanged (consumer and producer).
    public var kafka: [String: String] = [:]
    public var consumer = Consumer()
    public var producer = Producer()
    public var events = EventLimits()
    public var recommender = RecommenderConfiguration()
    public var publishing = Publishing()
    public var progress = Progress()
    public var checkpoint = Checkpointing()
    public var http = HTTPSettings()
    public var drift = DriftConfiguration()
    public var deadLetter = DeadLetter()
    public var scaleOut = ScaleOut()

    /// The users' changelog topic this configuration names.
    public var changelogTopic: String { scaleOut.changelogTopic ?? "\(groupID)-users-changelog" }
    /// The item deltas topic this configuration names.
    public var deltasTopic: String { scaleOut.deltasTopic ?? "\(groupID)-model-deltas" }
    /// The item snapshots topic this configuration names.
    public var snapshotsTopic: String { scaleOut.snapshotsTopic ?? "\(groupID)-model-snapshots" }

    /// The service's defaults. The sampler is `causal`: on the simulator's planted exposure shift
    /// it is 1.06× uniform negatives at γ 0.5 and 2.6× at γ 0, on Food it ties them, and it trains
    /// as fast (results/README.md, "CNSDiff: where it stands").
    public init() {
        recommender.sampler = SamplerConfiguration(kind: .causal)
    }
}
