/// A positive to train on: the user clicked the item at `timestamp`.
public struct PositiveExample: Sendable, Equatable {
    public var user: Int32
    public var item: Int32
    public var timestamp: Int64

    public init(user: Int32, item: Int32, timestamp: Int64) {
        self.user = user
        self.item = item
        self.timestamp = timestamp
    }
}
