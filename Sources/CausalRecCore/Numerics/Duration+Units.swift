extension Duration {
    /// The duration in seconds, as a Double (for rates, logs and reports).
    public var inSeconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }

    /// Whole nanoseconds (what metrics timers record).
    public var inNanoseconds: Int64 {
        components.seconds &* 1_000_000_000 &+ components.attoseconds / 1_000_000_000
    }

    /// Whole milliseconds, clamped to Int32 (librdkafka's timeouts).
    public var inMilliseconds: Int {
        let total = components.seconds &* 1_000 &+ components.attoseconds / 1_000_000_000_000_000
        return Int(clamping: min(total, Int64(Int32.max)))
    }

    /// A duration of `seconds` (fractions kept to the millisecond).
    public static func seconds(fractional seconds: Double) -> Duration {
        .milliseconds(Int64((seconds * 1_000).rounded()))
    }
}
