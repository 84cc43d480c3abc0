import COpenBLAS

/// A row-major matrix of floats in 64-byte-aligned memory, the unit of the denoiser's batched
/// math. Products go through OpenBLAS `sgemm`, single-threaded (parallelism happens above it).
public final class DenseMatrix {
    public let rows: Int
    public let columns: Int
    public let values: UnsafeMutablePointer<Float>

    public init(rows: Int, columns: Int) {
        precondition(rows >= 0 && columns >= 0)
        self.rows = rows
        self.columns = columns
        let count = max(1, rows * columns)
        let raw = UnsafeMutableRawPointer.allocate(byteCount: count * MemoryLayout<Float>.stride, alignment: 64)
        values = raw.bindMemory(to: Float.self, capacity: count)
        values.initialize(repeating: 0, count: count)
        DenseMatrix.configureOnce
    }

    deinit {
        values.deallocate()
    }

    public var count: Int { rows * columns }

    @inline(__always)
    public func row(_ index: Int) -> UnsafeMutablePointer<Float> {
        values + index * columns
    }

    public subscript(row: Int, column: Int) -> Float {
        get { values[row * columns + column] }
        set { values[row * columns + column] = newValue }
    }

    public func fill(_ value: Float) {
        values.update(repeating: value, count: count)
    }

    public func copy(from other: DenseMatrix) {
        precondition(other.rows == rows && other.columns == columns)
        values.update(from: other.values, count: count)
    }

    public var array: [Float] { Array(UnsafeBufferPointer(start: values, count: count)) }

    /// OpenBLAS starts its own thread pool unless told otherwise; the callers parallelise.
    private static let configureOnce: Void = {
        openblas_set_num_threads(1)
    }()
}

/// Matrix products over the leading `rows` rows of batch matrices (buffers are allocated for the
/// largest batch and reused), through OpenBLAS `sgemm`.
public enum Gemm {
    /// C[m×n] = A[m×k] · B[k×n] (+ C when `accumulate`).
    public static func multiply(_ a: DenseMatrix, _ b: DenseMatrix, into c: DenseMatrix, rows m: Int, accumulate: Bool = false) {
        precondition(a.columns == b.rows && c.columns == b.columns && a.rows >= m && c.rows >= m)
        guard m > 0 else { return }
        sgemm(CblasNoTrans, CblasNoTrans, m: m, n: b.columns, k: a.columns, a, b, c, accumulate: accumulate)
    }

    /// C[m×n] = A[m×k] · B[n×k]ᵀ (+ C when `accumulate`).
    public static func multiplyTransposedB(_ a: DenseMatrix, _ b: DenseMatrix, into c: DenseMatrix, rows m: Int,
                                           accumulate: Bool = false)
    {
        precondition(a.columns == b.columns && c.columns == b.rows && a.rows >= m && c.rows >= m)
        guard m > 0 else { return }
        sgemm(CblasNoTrans, CblasTrans, m: m, n: b.rows, k: a.columns, a, b, c, accumulate: accumulate)
    }

    /// C[k×n] = A[m×k]ᵀ · B[m×n] (+ C when `accumulate`) — the weight gradient of a layer.
    public static func multiplyTransposedA(_ a: DenseMatrix, _ b: DenseMatrix, into c: DenseMatrix, rows m: Int,
                                           accumulate: Bool = false)
    {
        precondition(c.rows == a.columns && c.columns == b.columns && a.rows >= m && b.rows >= m)
        guard m > 0 else {
            if !accumulate { c.fill(0) }
            return
        }
        sgemm(CblasTrans, CblasNoTrans, m: a.columns, n: b.columns, k: m, a, b, c, accumulate: accumulate)
    }

    /// Row-major C[m×n] = op(A) · op(B) (+ C when `accumulate`), leading dimensions the matrices' widths.
    private static func sgemm(_ transposeA: CBLAS_TRANSPOSE, _ transposeB: CBLAS_TRANSPOSE, m: Int, n: Int, k: Int,
                              _ a: DenseMatrix, _ b: DenseMatrix, _ c: DenseMatrix, accumulate: Bool)
    {
        cblas_sgemm(CblasRowMajor, transposeA, transposeB, Int32(m), Int32(n), Int32(k),
                    1, a.values, Int32(a.columns), b.values, Int32(b.columns), accumulate ? 1 : 0, c.values, Int32(c.columns))
    }
}
