/// Scores from factor matrices trained elsewhere (e.g. a peer library), laid out in our row order:
/// score(u, i) = ⟨U_u, V_i⟩. A peer's bias, if any, travels as an extra column (1 on the user
/// side), so no separate bias is needed.
public struct FactorScorer: ItemScorer {
    public let dimension: Int
    public let stride: Int
    private let users: [Float]
    private let items: [Float]
    public let itemCount: Int

    /// `users[row]` / `items[row]` hold `dimension` floats each (missing rows score 0).
    public init(dimension: Int, users: [[Float]], items: [[Float]]) {
        self.dimension = dimension
        stride = (dimension + 7) & ~7
        var flatUsers = [Float](repeating: 0, count: users.count * stride)
        for (row, vector) in users.enumerated() {
            for (column, value) in vector.prefix(dimension).enumerated() { flatUsers[row * stride + column] = value }
        }
        var flatItems = [Float](repeating: 0, count: items.count * stride)
        for (row, vector) in items.enumerated() {
            for (column, value) in vector.prefix(dimension).enumerated() { flatItems[row * stride + column] = value }
        }
        self.users = flatUsers
        self.items = flatItems
        itemCount = items.count
    }

    public func scores(for user: Int32, into scores: UnsafeMutableBufferPointer<Float>) {
        items.withUnsafeBufferPointer { itemRows in
            users.withUnsafeBufferPointer { userRows in
                VectorKernels.scoreRows(itemRows.baseAddress!, count: itemCount, stride: stride,
                                        query: userRows.baseAddress! + Int(user) * stride, bias: nil, into: scores.baseAddress!)
            }
        }
    }
}
