/// SplitMix64 (Steele, Lea, Flood 2014): a tiny generator used to expand one seed into the state
/// of other generators and to derive per-row seeds, so row initialisation does not depend on the
/// order in which other random numbers were drawn.
public struct SplitMix64: RandomNumberGenerator, Sendable, Hashable {
    public private(set) var state: UInt64

    public init(seed: UInt64) {
        state = seed
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A well-mixed 64-bit value from two inputs (e.g. a seed and a row number).
    public static func mix(_ a: UInt64, _ b: UInt64) -> UInt64 {
        var generator = SplitMix64(seed: a ^ (b &* 0xD6E8_FEB8_6659_FD93))
        return generator.next()
    }
}
