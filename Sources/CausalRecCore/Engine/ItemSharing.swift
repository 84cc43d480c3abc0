import Foundation

/// The recommender's record of what it changed of its items since it last published them, for
/// instances that share item state (`RecommenderConfiguration.sharesItems`).
///
/// Embeddings and biases are kept as a copy of each row at its last publication: the change is
/// the difference, whatever number of training steps (or threads) made it, and a received delta
/// is added to both the row and the copy so it is never published again. Click counts and
/// exposure are counted as they happen, per source (the input the event came from), exposure in
/// weights relative to an anchor time (the first exposure since the last publication), the way
/// `ExposureEstimator` keeps its own.
package final class ItemSharing {
    let stride: Int
    let dimension: Int
    private let decayPerMillisecond: Double
    /// Per item row, the embedding and bias as last published (or received).
    private(set) var publishedRows: [Float] = []
    private(set) var publishedBias: [Float] = []
    /// Per source, per item row: clicks and exposure counted since the last publication.
    private(set) var clicks: [Int32: [Int32: Int32]] = [:]
    private(set) var exposure: [Int32: [Int32: Double]] = [:]
    private(set) var exposureAnchor: Int64?

    init(dimension: Int, stride: Int, exposureHalfLifeMilliseconds: Double) {
        self.dimension = dimension
        self.stride = stride
        decayPerMillisecond = 0.693_147_180_559_945_3 / exposureHalfLifeMilliseconds
    }

    /// A row that starts (new or reused) with `values` and `bias`: its start is not a change.
    func started(_ row: Int32, values: UnsafePointer<Float>, bias: Float) {
        let needed = (Int(row) + 1) * stride
        if publishedRows.count < needed {
            publishedRows.append(contentsOf: repeatElement(0, count: needed - publishedRows.count))
            publishedBias.append(contentsOf: repeatElement(0, count: Int(row) + 1 - publishedBias.count))
        }
        let base = Int(row) * stride
        for column in 0..<stride { publishedRows[base + column] = values[column] }
        publishedBias[Int(row)] = bias
        for source in clicks.keys { clicks[source]![row] = nil }
        for source in exposure.keys { exposure[source]![row] = nil }
    }

    func countClick(_ row: Int32, by change: Int32, source: Int32) {
        clicks[source, default: [:]][row, default: 0] &+= change
    }

    func countExposure(_ row: Int32, at time: Int64, amount: Double = 1, source: Int32) {
        let anchor = exposureAnchor ?? time
        if exposureAnchor == nil { exposureAnchor = time }
        var exponent = decayPerMillisecond * Double(time - anchor)
        if exponent > 200 {
            // Far past the anchor: move it, so the weights stay far below Double's range.
            let factor = exp(-exponent)
            for (source, rows) in exposure { exposure[source] = rows.mapValues { $0 * factor } }
            exposureAnchor = time
            exponent = 0
        }
        exposure[source, default: [:]][row, default: 0] += amount * exp(exponent)
    }

    /// Adds a received (or returned) change of the embedding and bias to the published copy.
    func addPublished(_ row: Int32, embedding: [Float], bias: Float) {
        let base = Int(row) * stride
        for (column, value) in embedding.enumerated() { publishedRows[base + column] += value }
        publishedBias[Int(row)] += bias
    }

    /// Takes the training changes of `row` (current values `values`, `bias`) and marks them
    /// published; nil when training did not change it.
    func take(_ row: Int32, values: UnsafePointer<Float>, bias: Float, identifier: String) -> ItemDelta? {
        let base = Int(row) * stride
        var embedding: [Float] = []
        for column in 0..<dimension where values[column] != publishedRows[base + column] {
            embedding = (0..<dimension).map { values[$0] - publishedRows[base + $0] }
            break
        }
        let biasChange = bias - publishedBias[Int(row)]
        guard !embedding.isEmpty || biasChange != 0 else { return nil }
        for column in 0..<stride { publishedRows[base + column] = values[column] }
        publishedBias[Int(row)] = bias
        return ItemDelta(item: identifier, bias: biasChange, embedding: embedding)
    }

    /// The counted changes, one delta per source and item row (sorted by source, then row).
    func countedDeltas(identifier: (Int32) -> String) -> [ItemDelta] {
        var deltas: [ItemDelta] = []
        for source in Set(clicks.keys).union(exposure.keys).sorted() {
            let sourceClicks = clicks[source] ?? [:]
            let sourceExposure = exposure[source] ?? [:]
            for row in Set(sourceClicks.keys).union(sourceExposure.keys).sorted() {
                let clickChange = sourceClicks[row] ?? 0
                let exposureChange = sourceExposure[row] ?? 0
                guard clickChange != 0 || exposureChange != 0 else { continue }
                deltas.append(ItemDelta(item: identifier(row), source: source, clicks: clickChange, exposure: exposureChange))
            }
        }
        return deltas
    }

    /// Forgets the counted changes once all rows were taken.
    func clearCounts() -> Int64? {
        clicks.removeAll(keepingCapacity: true)
        exposure.removeAll(keepingCapacity: true)
        defer { exposureAnchor = nil }
        return exposureAnchor
    }
}
