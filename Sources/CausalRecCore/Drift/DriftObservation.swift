/// What the drift monitor needs from one applied event: its time, the item rows it exposed or
/// clicked, the prequential hit stream so far, and the rows an eviction freed.
public struct DriftObservation: Sendable {
    public var time: Int64
    public var exposedItems: [Int32]
    public var clickedItem: Int32?
    /// The evaluator's running totals after the event (the hit stream the detectors follow).
    public var hitStream: HitRateWindow
    public var evictedItems: [Int32]

    public init(time: Int64, exposedItems: [Int32] = [], clickedItem: Int32? = nil, hitStream: HitRateWindow,
                evictedItems: [Int32] = [])
    {
        self.time = time
        self.exposedItems = exposedItems
        self.clickedItem = clickedItem
        self.hitStream = hitStream
        self.evictedItems = evictedItems
    }
}
