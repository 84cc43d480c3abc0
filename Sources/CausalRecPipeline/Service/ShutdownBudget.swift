/// One deadline for every wait of a graceful shutdown (final checkpoint, group leave, output
/// flush, producer close). Each wait takes its own timeout or what is left of the budget,
/// whichever is shorter, so their sum stays within the budget — below the hard bound at which
/// `ShutdownSignals` ends the process — instead of adding up past it.
struct ShutdownBudget {
    /// The graceful part; `ShutdownSignals.hardBound` (60 s from the signal) leaves room for the
    /// current batch before it and the HTTP endpoint's close after it.
    static let standard = Duration.seconds(45)

    let deadline: ContinuousClock.Instant
    private let now: () -> ContinuousClock.Instant

    init(_ budget: Duration = standard, now: @escaping () -> ContinuousClock.Instant = { .now }) {
        self.now = now
        deadline = now() + budget
    }

    /// The time a wait may take: `timeout`, cut to what remains (zero once the budget is spent).
    func timeout(atMost timeout: Duration) -> Duration {
        let remaining = deadline - now()
        return max(.zero, min(timeout, remaining))
    }

    var isSpent: Bool { now() >= deadline }
}
