/// The positive link g of the deconfounded score s(u,i) = g(x)·w_i, x = ⟨p_u,q_i⟩ + b_i.
///
/// PDA (Zhang et al., SIGIR 2021) needs g > 0 so that multiplying by an exposure weight keeps the
/// order meaningful; ELU + 1 is smooth, positive and ≈ x + 1 for x > 0. Plain BPR is `identity`.
package enum ScoreLink: String, Sendable, Equatable, Codable {
    case identity
    case eluPlusOne = "elu+1"

    @inline(__always)
    package func value(_ x: Float) -> Float {
        switch self {
        case .identity: x
        case .eluPlusOne: x > 0 ? x + 1 : _expf(x)
        }
    }

    @inline(__always)
    package func derivative(_ x: Float) -> Float {
        switch self {
        case .identity: 1
        case .eluPlusOne: x > 0 ? 1 : _expf(x)
        }
    }

    /// (g(x), g′(x)) with one exponential: for ELU + 1 both are eˣ below 0. Bit for bit the
    /// values `value` and `derivative` return.
    @inline(__always)
    package func valueAndDerivative(_ x: Float) -> (value: Float, derivative: Float) {
        switch self {
        case .identity: return (x, 1)
        case .eluPlusOne:
            if x > 0 { return (x + 1, 1) }
            let e = _expf(x)
            return (e, e)
        }
    }

    /// log g(x), for comparisons in log space (g > 0 only).
    @inline(__always)
    package func logValue(_ x: Float) -> Float {
        x > 0 ? _log1pf(x) : x
    }
}
