import CausalRecCore

/// Counts of one consumed batch, added to the shared counters and metrics once per batch.
struct BatchTally {
    var messages = 0
    var impressions = 0
    var clicks = 0
    var requests = 0
    var forgets = 0
    var invalid = 0
    var recommendations = 0
    /// Events the event clock applied at its current time instead of their own, later one.
    var heldBack = 0

    mutating func count(_ kind: EventStep.Kind) {
        switch kind {
        case .impression: impressions += 1
        case .click: clicks += 1
        case .request: requests += 1
        case .forget: forgets += 1
        }
    }

    func record(into counters: ProcessingCounters, metrics: ServiceMetrics) {
        guard messages > 0 else { return }
        counters.messages.add(messages, ordering: .relaxed)
        counters.deadLettered.add(invalid, ordering: .relaxed)
        counters.recommendationsPublished.add(recommendations, ordering: .relaxed)
        if impressions > 0 { metrics.events[.impression]?.increment(by: impressions) }
        if clicks > 0 { metrics.events[.click]?.increment(by: clicks) }
        if requests > 0 { metrics.events[.request]?.increment(by: requests) }
        if forgets > 0 { metrics.events[.forget]?.increment(by: forgets) }
        if heldBack > 0 {
            counters.heldBack.add(heldBack, ordering: .relaxed)
            metrics.heldBackEvents.increment(by: heldBack)
        }
        if invalid > 0 {
            metrics.events[.invalid]?.increment(by: invalid)
            metrics.deadLettered.increment(by: invalid)
        }
        let applied = impressions + clicks + requests
        if applied > 0 { metrics.applied.increment(by: applied) }
        if recommendations > 0 { metrics.recommendations.increment(by: recommendations) }
    }
}
