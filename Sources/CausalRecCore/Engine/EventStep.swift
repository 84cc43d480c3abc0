/// How an event is applied.
public enum StepMode: Sendable, Equatable {
    /// The live stream and a scored replay: a click is tested before it is learned, then queued
    /// for training; a request is answered.
    case testThenTrain
    /// Learning without scoring (a replay warming up on a log it does not score).
    case train
    /// Recording only (ids, history, exposure; a click becomes a positive that the caller trains
    /// on in epochs): how an offline backtest loads its training split. No answers, no sweeps.
    case record
}

/// What applying one event did, and what the caller must do about it: the answers to publish,
/// the click's test, the drift alerts. A value returned by the step — the live service, replay
/// and backtests share the step and act on this, instead of asking the engine again.
public struct EventStep: Sendable {
    public enum Kind: String, Sendable {
        case impression, click, request, forget

        public init(_ event: Event) {
            switch event {
            case .impression: self = .impression
            case .click: self = .click
            case .request: self = .request
            case .forget: self = .forget
            }
        }
    }

    public var kind: Kind
    /// The event time the state applied the event at (`EventClock`).
    public var time: Int64
    /// The row of the event's user after it (nil: not admitted, unknown, or forgotten).
    public var userRow: Int32?
    /// Rows of the items the event named that have one: a slate's, or the clicked item.
    public var itemRows: [Int32] = []
    /// Recommendations to publish: a request's answer, a click-triggered refresh.
    public var answers: [Recommendation] = []
    /// The click's test-then-train result, when it was evaluated.
    public var evaluation: ClickEvaluation?
    /// The click as a training example (nil while its user or item waits for admission).
    public var positive: PositiveExample?
    /// A training batch ran (`modelVersion` moved on).
    public var trained = false
    /// Item rows an eviction sweep freed during the event.
    public var evictedItems: [Int32] = []
    /// Users an eviction sweep gave back during the event: their former row and their id (the
    /// row is free now; what was noted about it, such as the user's input partition, still
    /// describes the evicted user).
    public var evictedUsers: [(row: Int32, user: String)] = []
    /// Drift alerts the event completed.
    public var alerts: [DriftAlert] = []

    public init(kind: Kind, time: Int64) {
        self.kind = kind
        self.time = time
    }
}
