import CVectorKernels

/// An 8-bit copy of the item embeddings for the pre-scan of large catalogues: each row as codes
/// c = round(q / s) in [-127, 127] with its own scale s = max|q| / 127, stored offset by 128 as
/// unsigned bytes, padded to a multiple of 32. A query is quantised the same way into [-63, 63], so
/// the integer kernel (`cvk_dot_u8_s8_rows`) reads a quarter of the bytes of the fp32 table.
///
/// The copy follows the model through `MatrixFactorization.changedItems`: `sync` re-quantises the
/// rows written since the last call (a training batch touches a few hundred), all of them after a
/// restore.
final class QuantizedItemTable {
    private(set) var count = 0
    let stride: Int
    private var codes: UnsafeMutablePointer<UInt8>
    private var scales: UnsafeMutablePointer<Float>
    private var capacity = 0
    private var queryCodes: UnsafeMutablePointer<Int8>
    private var dots: UnsafeMutablePointer<Int32>
    private var dotsCapacity = 0

    init(dimension: Int) {
        stride = max(32, (dimension + 31) / 32 * 32)
        codes = .allocate(capacity: stride)
        scales = .allocate(capacity: 1)
        queryCodes = .allocate(capacity: stride)
        queryCodes.initialize(repeating: 0, count: stride)
        dots = .allocate(capacity: 1)
    }

    deinit {
        codes.deallocate()
        scales.deallocate()
        queryCodes.deallocate()
        dots.deallocate()
    }

    /// Bytes per item of this copy (codes and scale).
    var bytesPerItem: Int { stride + MemoryLayout<Float>.size }

    /// Brings the copy up to date with the model's item rows.
    func sync(with model: MatrixFactorization) {
        let rows = model.itemCount
        if rows > capacity {
            let grown = max(rows, capacity * 2)
            let newCodes = UnsafeMutablePointer<UInt8>.allocate(capacity: grown * stride)
            newCodes.update(from: codes, count: capacity * stride)
            codes.deallocate()
            codes = newCodes
            let newScales = UnsafeMutablePointer<Float>.allocate(capacity: grown)
            newScales.update(from: scales, count: capacity)
            scales.deallocate()
            scales = newScales
            capacity = grown
        }
        let dimension = model.dimension
        // Rows added since the last sync were marked as changed when the model grew.
        model.changedItems.drain(rows: rows) { row in
            quantize(row: Int(row), from: model.items.row(row), dimension: dimension)
        }
        count = rows
    }

    private func quantize(row: Int, from weights: UnsafePointer<Float>, dimension: Int) {
        var largest: Float = 0
        for index in 0..<dimension { largest = max(largest, abs(weights[index])) }
        let scale = largest > 0 && largest.isFinite ? largest / 127 : 1
        let target = codes + row * stride
        for index in 0..<dimension {
            target[index] = UInt8(Self.code(weights[index] / scale, limit: 127) + 128)
        }
        for index in dimension..<stride { target[index] = 128 }
        scales[row] = scale
    }

    /// The nearest integer code within ±limit (0 for a value that is not finite).
    @inline(__always)
    private static func code(_ value: Float, limit: Int) -> Int {
        guard value.isFinite else { return 0 }
        return min(limit, max(-limit, Int(value.rounded())))
    }

    /// Approximate ⟨query, q_i⟩ + b_i for every row, into `scores`.
    func approximateScores(query: UnsafePointer<Float>, dimension: Int, bias: UnsafePointer<Float>?,
                           into scores: UnsafeMutablePointer<Float>)
    {
        var largest: Float = 0
        for index in 0..<dimension { largest = max(largest, abs(query[index])) }
        let queryScale = largest > 0 && largest.isFinite ? largest / 63 : 1
        var codeSum: Int32 = 0
        for index in 0..<dimension {
            let code = Int8(Self.code(query[index] / queryScale, limit: 63))
            queryCodes[index] = code
            codeSum += Int32(code)
        }
        if count > dotsCapacity {
            dots.deallocate()
            dotsCapacity = max(count, dotsCapacity * 2)
            dots = .allocate(capacity: dotsCapacity)
        }
        cvk_dot_u8_s8_rows(codes, count, stride, queryCodes, dots)
        // Σ (c + 128)·q = Σ c·q + 128·Σ q: remove the offset, then scale back.
        let offset = 128 * codeSum
        for row in 0..<count {
            scores[row] = Float(dots[row] - offset) * (scales[row] * queryScale) + (bias?[row] ?? 0)
        }
    }
}
