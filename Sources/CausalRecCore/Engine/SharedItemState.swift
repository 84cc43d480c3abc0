/// One item as an instance that shares items holds it at a point of the exchange: its embedding
/// and bias, its click count and its exposure weight at the snapshot's exposure time. A snapshot of
/// them lets a new instance start without applying every change ever published.
public struct SharedItemState: Sendable, Equatable {
    public var item: String
    public var clicks: Int32
    public var exposure: Double
    public var bias: Float
    public var embedding: [Float]

    public init(item: String, clicks: Int32, exposure: Double, bias: Float, embedding: [Float]) {
        self.item = item
        self.clicks = clicks
        self.exposure = exposure
        self.bias = bias
        self.embedding = embedding
    }
}
