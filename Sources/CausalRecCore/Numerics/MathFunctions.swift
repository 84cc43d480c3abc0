#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

// The core avoids Foundation; these thin wrappers name the libm functions it needs.
@inline(__always) func _log(_ x: Double) -> Double { log(x) }
@inline(__always) func _exp2(_ x: Double) -> Double { exp2(x) }
@inline(__always) func _exp(_ x: Double) -> Double { exp(x) }
@inline(__always) func _cos(_ x: Double) -> Double { cos(x) }
@inline(__always) func _expf(_ x: Float) -> Float { expf(x) }
@inline(__always) func _log1pf(_ x: Float) -> Float { log1pf(x) }
@inline(__always) func _pow(_ x: Double, _ y: Double) -> Double { pow(x, y) }

/// Logistic function, stable for large |x|.
@inline(__always)
public func sigmoid(_ x: Float) -> Float {
    if x >= 0 {
        return 1 / (1 + _expf(-x))
    }
    let e = _expf(x)
    return e / (1 + e)
}

/// log(1 + exp(x)), stable for large |x|.
@inline(__always)
public func softplus(_ x: Float) -> Float {
    x > 20 ? x : (x < -20 ? _expf(x) : _log1pf(_expf(x)))
}


@inline(__always) func _tanhf(_ x: Float) -> Float { tanhf(x) }
@inline(__always) func _sin(_ x: Double) -> Double { sin(x) }
@inline(__always) func _logf(_ x: Float) -> Float { logf(x) }
