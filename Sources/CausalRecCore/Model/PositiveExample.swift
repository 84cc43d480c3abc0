/// A positive to train on: the user clicked the item at `timestamp`, when the item's exposure
/// relative to the mean item was `exposure` (0 = not recorded: training uses the current one).
public struct PositiveExample: Sendable, Equatable {
    public var user: Int32
    public var item: Int32
    public var timestamp: Int64
    public var exposure: Float

    public init(user: Int32, item: Int32, timestamp: Int64, exposure: Float = 0) {
        self.user = user
        self.item = item
        self.timestamp = timestamp
        self.exposure = exposure
    }
}
