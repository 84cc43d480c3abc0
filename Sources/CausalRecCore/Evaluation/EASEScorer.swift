import COpenBLAS

/// EASE (Steck, WWW 2019), a strong linear peer: an item–item weight matrix in closed form,
/// B = I − P · diag(1/diag P) with P = (XᵀX + λI)⁻¹ and a zero diagonal; a user's scores are the
/// sum of B's rows over the items the user clicked. X is the binary user × item matrix of the
/// training positives; λ is chosen on validation.
///
/// The inverse is a Cholesky factorisation and inverse in double precision (LAPACK through
/// OpenBLAS): O(n³) time and 8·n² bytes for n items, so catalogues above `maxItems` are refused
/// with a message rather than started.
public struct EASEScorer: ItemScorer {
    public let itemCount: Int
    /// Row-major n × n, float (scoring needs no more).
    private let weights: [Float]
    private let clicked: [[Int32]]

    public struct TooLarge: Error, CustomStringConvertible {
        public let items: Int
        public let maxItems: Int
        public var description: String {
            "EASE needs an \(items) × \(items) matrix (\(items * items * 8 / 1_048_576) MB, O(n³) to invert); above the limit of \(maxItems) items (--ease-max-items)"
        }
    }

    public struct NotInvertible: Error, CustomStringConvertible {
        public let info: Int32
        public var description: String { "EASE: XᵀX + λI is not positive definite (LAPACK info \(info)); raise λ" }
    }

    /// `clicked`: each user's clicked item rows (sorted); `items`: the item rows.
    public init(clicked: [[Int32]], items: Int, lambda: Double, maxItems: Int) throws {
        guard items <= maxItems else { throw TooLarge(items: items, maxItems: maxItems) }
        let n = items
        // G = XᵀX (symmetric): pair counts over each user's items.
        var gram = [Double](repeating: 0, count: n * n)
        for list in clicked {
            for a in list {
                let row = Int(a) * n
                for b in list { gram[row + Int(b)] += 1 }
            }
        }
        for index in 0..<n { gram[index * n + index] += lambda }
        // Column-major and row-major coincide for a symmetric matrix; LAPACK fills the lower
        // triangle (in its column-major view) with the inverse.
        var info: Int32 = 0
        var size = Int32(n)
        var lower = CChar(UInt8(ascii: "L"))
        if n > 0 {
            gram.withUnsafeMutableBufferPointer { a in
                dpotrf_(&lower, &size, a.baseAddress!, &size, &info)
                if info == 0 { dpotri_(&lower, &size, a.baseAddress!, &size, &info) }
            }
        }
        guard info == 0 else { throw NotInvertible(info: info) }
        // Column-major lower triangle ⇒ element (i, j), i ≥ j, at [j·n + i]; mirror it.
        for j in 0..<n {
            for i in (j + 1)..<max(n, j + 1) where i < n { gram[i * n + j] = gram[j * n + i] }
        }
        var result = [Float](repeating: 0, count: n * n)
        for j in 0..<n {
            let diagonal = gram[j * n + j]
            for i in 0..<n where i != j {
                result[i * n + j] = Float(-gram[i * n + j] / diagonal)
            }
        }
        itemCount = n
        weights = result
        self.clicked = clicked
    }

    public func scores(for user: Int32, into scores: UnsafeMutableBufferPointer<Float>) {
        for index in 0..<scores.count { scores[index] = 0 }
        guard Int(user) < clicked.count else { return }
        weights.withUnsafeBufferPointer { b in
            for item in clicked[Int(user)] {
                let row = b.baseAddress! + Int(item) * itemCount
                for column in 0..<itemCount { scores[column] += row[column] }
            }
        }
    }
}
