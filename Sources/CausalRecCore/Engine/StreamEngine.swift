/// The per-event step of every consumer of the stream — the live service, replays and offline
/// backtests: the recommender applies the event, the drift monitor sees its numbers, the click
/// policy decides on a refresh, and one `EventStep` value says what the caller must do (answers
/// to publish, alerts to raise). State-machine style: the engine never performs the I/O itself.
public final class StreamEngine {
    public let recommender: OnlineRecommender
    package let drift: DriftMonitor?
    private var clickPublication: ClickPublicationPolicy?

    /// `drift`: watch the stream for shift (nil: off); `clickPublication`: refresh a user's
    /// recommendations after a click (nil: only requests are answered).
    public init(recommender: OnlineRecommender, drift: DriftConfiguration? = nil, clickPublication: ClickPublicationPolicy? = nil) {
        self.recommender = recommender
        self.drift = drift.map { DriftMonitor(configuration: $0) }
        self.clickPublication = clickPublication
    }

    /// Applies one valid event; `fallbackTimestamp` (the transport's) is used when it carries
    /// none. In `.testThenTrain` the drift monitor and the click policy take part.
    @discardableResult
    public func step(_ event: Event, fallbackTimestamp: Int64, mode: StepMode = .testThenTrain, countsItems: Bool = true,
                     source: Int32 = 0) -> EventStep {
        var step = recommender.step(event, fallbackTimestamp: fallbackTimestamp, mode: mode, countsItems: countsItems, source: source)
        guard mode == .testThenTrain else { return step }
        if case let .click(click) = event, clickPublication?.shouldPublish(user: click.user, at: step.time) == true {
            step.answers.append(recommender.recommend(user: click.user, k: recommender.configuration.defaultRequestK, at: step.time))
        }
        if let drift {
            step.alerts = drift.observe(DriftObservation(
                time: step.time, exposedItems: step.kind == .impression ? step.itemRows : [],
                clickedItem: step.kind == .click ? step.itemRows.first : nil,
                hitStream: recommender.evaluator.total, evictedItems: step.evictedItems))
        }
        return step
    }

    /// The event time to give an event without one whose transport has none either.
    public var latestTimestamp: Int64 { recommender.latestTimestamp }

    // MARK: State

    /// The recommender, the drift monitor and the click policy, in the checkpoint body.
    public func writeState(to writer: inout StateWriter) {
        recommender.writeState(to: &writer)
        writer.beginSection("ENGN")
        writer.write(drift != nil)
        drift?.writeState(to: &writer)
        writer.write(clickPublication != nil)
        clickPublication?.writeState(to: &writer)
        writer.endSection()
    }

    /// Restores into this (freshly made) engine; its settings must agree with the stored ones
    /// on what shapes the state (drift on or off, click publication on or off).
    public func readState(from reader: inout StateReader, layout: Int = OnlineRecommender.stateLayoutVersion) throws {
        try recommender.readState(from: &reader, layout: layout)
        try reader.beginSection("ENGN")
        try reader.expect(try reader.readBool(), equals: drift != nil, "drift.enabled")
        try drift?.readState(from: &reader)
        try drift?.validateRestored(evaluated: recommender.evaluator.total)
        try reader.expect(try reader.readBool(), equals: clickPublication != nil, "publish.on_click")
        try clickPublication?.readState(from: &reader)
        try reader.endSection()
    }
}
