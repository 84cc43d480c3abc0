/// Item rows repacked for the scoring micro-kernel: panels of 16 items, each panel stored
/// k-major (`panel[k·16 + j]` = item j's k-th value), so scoring 6 users against 16 items is
/// 6 × 2 SIMD8 accumulators fed by two vector loads and six broadcasts per k — the classic
/// register-blocked GEMM shape, which streams each item panel once per 6 users instead of once
/// per user. Padding items are zero.
package final class PackedItemPanels {
    package let dimension: Int
    package let itemCount: Int
    package let panelCount: Int
    let storage: UnsafeMutablePointer<Float>
    static let panelWidth = 16
    package static let userBlock = 6

    package init(rows: UnsafePointer<Float>, count: Int, stride: Int, dimension: Int) {
        self.dimension = dimension
        itemCount = count
        panelCount = (count + Self.panelWidth - 1) / Self.panelWidth
        let floats = max(1, panelCount * Self.panelWidth * dimension)
        let raw = UnsafeMutableRawPointer.allocate(byteCount: floats * MemoryLayout<Float>.stride, alignment: 64)
        storage = raw.bindMemory(to: Float.self, capacity: floats)
        storage.initialize(repeating: 0, count: floats)
        for item in 0..<count {
            let panel = item / Self.panelWidth
            let lane = item % Self.panelWidth
            let source = rows + item * stride
            let base = storage + panel * Self.panelWidth * dimension + lane
            for k in 0..<dimension {
                base[k * Self.panelWidth] = source[k]
            }
        }
    }

    deinit {
        storage.deallocate()
    }

    /// Scores `users` (up to 6 query rows of `dimension` floats, `queryStride` apart) against all
    /// items: `output[r·outputStride + i]`. Rows beyond `users` are not written.
    package func score(queries: UnsafePointer<Float>, users: Int, queryStride: Int,
                      into output: UnsafeMutablePointer<Float>, outputStride: Int)
    {
        precondition(users >= 1 && users <= Self.userBlock)
        typealias V = SIMD8<Float>
        // Copy the queries into a zero-padded 6-row block so the kernel needs no branches.
        let block = UnsafeMutablePointer<Float>.allocate(capacity: Self.userBlock * dimension)
        defer { block.deallocate() }
        block.initialize(repeating: 0, count: Self.userBlock * dimension)
        for r in 0..<users {
            (block + r * dimension).update(from: queries + r * queryStride, count: dimension)
        }
        let q0 = block, q1 = block + dimension, q2 = block + 2 * dimension
        let q3 = block + 3 * dimension, q4 = block + 4 * dimension, q5 = block + 5 * dimension
        var tile = (V(), V(), V(), V(), V(), V(), V(), V(), V(), V(), V(), V())
        for panel in 0..<panelCount {
            let base = UnsafeRawPointer(storage + panel * Self.panelWidth * dimension)
            var c00 = V(), c01 = V(), c10 = V(), c11 = V(), c20 = V(), c21 = V()
            var c30 = V(), c31 = V(), c40 = V(), c41 = V(), c50 = V(), c51 = V()
            for k in 0..<dimension {
                let b0 = base.load(fromByteOffset: k &* 64, as: V.self)
                let b1 = base.load(fromByteOffset: k &* 64 &+ 32, as: V.self)
                let a0 = V(repeating: q0[k]), a1 = V(repeating: q1[k]), a2 = V(repeating: q2[k])
                let a3 = V(repeating: q3[k]), a4 = V(repeating: q4[k]), a5 = V(repeating: q5[k])
                c00.addProduct(a0, b0); c01.addProduct(a0, b1)
                c10.addProduct(a1, b0); c11.addProduct(a1, b1)
                c20.addProduct(a2, b0); c21.addProduct(a2, b1)
                c30.addProduct(a3, b0); c31.addProduct(a3, b1)
                c40.addProduct(a4, b0); c41.addProduct(a4, b1)
                c50.addProduct(a5, b0); c51.addProduct(a5, b1)
            }
            tile = (c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51)
            let first = panel * Self.panelWidth
            let width = min(Self.panelWidth, itemCount - first)
            withUnsafeBytes(of: &tile) { raw in
                let values = raw.bindMemory(to: Float.self)
                for r in 0..<users {
                    let destination = output + r * outputStride + first
                    for j in 0..<width { destination[j] = values[r * 16 + j] }
                }
            }
        }
    }
}
