import CausalRecCore

/// Everything `causalrec run` reads from pipeline.yaml. Defaults are the values documented in
/// README.md; `PipelineConfiguration.load` reads the file strictly.
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
        public var deliveryTimeoutMilliseconds = 120_000
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

    public init() {}
}
