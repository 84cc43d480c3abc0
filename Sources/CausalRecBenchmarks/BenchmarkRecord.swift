/// One measured benchmark: what, how much, in which unit, and — when something comparable was
/// measured in the same run — the reference value and our value divided by it.
public struct BenchmarkRecord: Sendable, Codable, Equatable {
    public var name: String
    public var value: Double
    public var unit: String
    public var reference: Double?
    public var referenceName: String?
    public var ratio: Double?

    public init(name: String, value: Double, unit: String, reference: Double? = nil, referenceName: String? = nil) {
        self.name = name
        self.value = value
        self.unit = unit
        self.reference = reference
        self.referenceName = referenceName
        self.ratio = reference.map { $0 > 0 ? value / $0 : 0 }
    }

    enum CodingKeys: String, CodingKey {
        case name, value, unit, reference
        case referenceName = "reference_name"
        case ratio
    }
}
