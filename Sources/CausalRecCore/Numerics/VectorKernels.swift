/// SIMD kernels over rows whose length (the table stride) is a multiple of 8 floats and whose
/// start is 32-byte aligned. Plain `[Float]` loops run at 1–3 GFLOP/s here because of bounds
/// checks and missed vectorisation; these run at tens (BENCHMARKS.md).
public enum VectorKernels {
    public typealias Chunk = SIMD8<Float>

    @inline(__always)
    static func load(_ pointer: UnsafePointer<Float>, _ chunk: Int) -> Chunk {
        UnsafeRawPointer(pointer + chunk &* 8).load(as: Chunk.self)
    }

    @inline(__always)
    static func store(_ value: Chunk, _ pointer: UnsafeMutablePointer<Float>, _ chunk: Int) {
        UnsafeMutableRawPointer(pointer + chunk &* 8).storeBytes(of: value, as: Chunk.self)
    }

    /// ⟨a, b⟩ over `length` floats (a multiple of 8).
    @inline(__always)
    public static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, length: Int) -> Float {
        var accumulator0 = Chunk(repeating: 0)
        var accumulator1 = Chunk(repeating: 0)
        let chunks = length &>> 3
        var chunk = 0
        while chunk &+ 1 < chunks {
            accumulator0.addProduct(load(a, chunk), load(b, chunk))
            accumulator1.addProduct(load(a, chunk &+ 1), load(b, chunk &+ 1))
            chunk &+= 2
        }
        if chunk < chunks {
            accumulator0.addProduct(load(a, chunk), load(b, chunk))
        }
        return (accumulator0 + accumulator1).sum()
    }

    /// (⟨p, a⟩, ⟨p, b⟩) in one pass over p, each summed exactly as `dot` sums it (the same two
    /// accumulators per product), so the results are bit for bit those of two `dot` calls.
    @inline(__always)
    public static func dotPair(_ p: UnsafePointer<Float>, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>,
                               length: Int) -> (Float, Float)
    {
        var a0 = Chunk(repeating: 0)
        var a1 = Chunk(repeating: 0)
        var b0 = Chunk(repeating: 0)
        var b1 = Chunk(repeating: 0)
        let chunks = length &>> 3
        var chunk = 0
        while chunk &+ 1 < chunks {
            let p0 = load(p, chunk)
            let p1 = load(p, chunk &+ 1)
            a0.addProduct(p0, load(a, chunk))
            a1.addProduct(p1, load(a, chunk &+ 1))
            b0.addProduct(p0, load(b, chunk))
            b1.addProduct(p1, load(b, chunk &+ 1))
            chunk &+= 2
        }
        if chunk < chunks {
            let p0 = load(p, chunk)
            a0.addProduct(p0, load(a, chunk))
            b0.addProduct(p0, load(b, chunk))
        }
        return ((a0 + a1).sum(), (b0 + b1).sum())
    }

    /// Where a row update starts. `.zero` is the first-write form: y = 0 + …, computed with the
    /// same fused multiply-adds onto zero, so a sum started with it is bit for bit one started on a
    /// zeroed row, without zeroing or reading y first. Callers pass a literal, so the inlined
    /// kernel keeps one of the two loads and no branch.
    public enum Start: Sendable { case accumulate, zero }

    @inline(__always)
    static func initial(_ start: Start, _ y: UnsafeMutablePointer<Float>, _ chunk: Int) -> Chunk {
        start == .zero ? Chunk(repeating: 0) : load(UnsafePointer(y), chunk)
    }

    /// y += alpha · a, then y += beta · b, in one pass over y (bit for bit two `axpy` calls).
    @inline(__always)
    public static func axpyPair(_ alpha: Float, _ a: UnsafePointer<Float>, _ beta: Float, _ b: UnsafePointer<Float>,
                                _ y: UnsafeMutablePointer<Float>, length: Int, start: Start = .accumulate)
    {
        let sa = Chunk(repeating: alpha)
        let sb = Chunk(repeating: beta)
        for chunk in 0..<(length &>> 3) {
            var value = initial(start, y, chunk)
            value.addProduct(sa, load(a, chunk))
            value.addProduct(sb, load(b, chunk))
            store(value, y, chunk)
        }
    }

    /// y += alpha · x
    @inline(__always)
    public static func axpy(_ alpha: Float, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, length: Int,
                            start: Start = .accumulate)
    {
        let scale = Chunk(repeating: alpha)
        for chunk in 0..<(length &>> 3) {
            var value = initial(start, y, chunk)
            value.addProduct(scale, load(x, chunk))
            store(value, y, chunk)
        }
    }

    /// y += alpha · (a − b)
    @inline(__always)
    public static func axpyDifference(_ alpha: Float, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>,
                                      _ y: UnsafeMutablePointer<Float>, length: Int, start: Start = .accumulate)
    {
        let scale = Chunk(repeating: alpha)
        for chunk in 0..<(length &>> 3) {
            var value = initial(start, y, chunk)
            value.addProduct(scale, load(a, chunk) - load(b, chunk))
            store(value, y, chunk)
        }
    }

    /// ⟨a, b − c⟩
    @inline(__always)
    public static func dotDifference(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ c: UnsafePointer<Float>,
                                     length: Int) -> Float
    {
        var accumulator = Chunk(repeating: 0)
        for chunk in 0..<(length &>> 3) {
            accumulator.addProduct(load(a, chunk), load(b, chunk) - load(c, chunk))
        }
        return accumulator.sum()
    }

    /// Scores `count` rows of `rows` (row-major, `stride` floats apart) against `query`, adding
    /// `bias[i]` when given. Four rows at a time share the query loads and the horizontal sums.
    public static func scoreRows(_ rows: UnsafePointer<Float>, count: Int, stride: Int, query: UnsafePointer<Float>,
                                 bias: UnsafePointer<Float>?, into scores: UnsafeMutablePointer<Float>)
    {
        let chunks = stride &>> 3
        var row = 0
        while row &+ 4 <= count {
            let r0 = rows + row &* stride
            let r1 = r0 + stride
            let r2 = r1 + stride
            let r3 = r2 + stride
            var a0 = Chunk(repeating: 0), a1 = Chunk(repeating: 0)
            var a2 = Chunk(repeating: 0), a3 = Chunk(repeating: 0)
            for chunk in 0..<chunks {
                let q = load(query, chunk)
                a0.addProduct(load(r0, chunk), q)
                a1.addProduct(load(r1, chunk), q)
                a2.addProduct(load(r2, chunk), q)
                a3.addProduct(load(r3, chunk), q)
            }
            scores[row] = a0.sum()
            scores[row &+ 1] = a1.sum()
            scores[row &+ 2] = a2.sum()
            scores[row &+ 3] = a3.sum()
            row &+= 4
        }
        while row < count {
            scores[row] = dot(rows + row &* stride, query, length: stride)
            row &+= 1
        }
        if let bias {
            for index in 0..<count { scores[index] += bias[index] }
        }
    }
}

extension VectorKernels {
    /// y = scale · y + alpha · x
    @inline(__always)
    public static func scaleAndAdd(scale: Float, _ y: UnsafeMutablePointer<Float>, alpha: Float, _ x: UnsafePointer<Float>,
                                   length: Int)
    {
        let s = Chunk(repeating: scale)
        let a = Chunk(repeating: alpha)
        for chunk in 0..<(length &>> 3) {
            var value = load(UnsafePointer(y), chunk) * s
            value.addProduct(a, load(x, chunk))
            store(value, y, chunk)
        }
    }
}

extension VectorKernels {
    /// out = a·x + b·y
    @inline(__always)
    public static func mix(_ a: Float, _ x: UnsafePointer<Float>, _ b: Float, _ y: UnsafePointer<Float>,
                           into out: UnsafeMutablePointer<Float>, length: Int)
    {
        let sa = Chunk(repeating: a)
        let sb = Chunk(repeating: b)
        for chunk in 0..<(length &>> 3) {
            var value = load(x, chunk) * sa
            value.addProduct(sb, load(y, chunk))
            store(value, out, chunk)
        }
    }
}
