/// Spearman's rank correlation (ties get their mean rank).
package enum RankCorrelation {
    package static func spearman(_ x: [Double], _ y: [Double]) -> Double {
        precondition(x.count == y.count)
        guard x.count > 1 else { return 0 }
        return pearson(ranks(x), ranks(y))
    }

    static func ranks(_ values: [Double]) -> [Double] {
        let order = values.indices.sorted { values[$0] < values[$1] }
        var result = [Double](repeating: 0, count: values.count)
        var start = 0
        while start < order.count {
            var end = start
            while end + 1 < order.count && values[order[end + 1]] == values[order[start]] { end += 1 }
            for position in start...end { result[order[position]] = Double(start + end) / 2 }
            start = end + 1
        }
        return result
    }

    static func pearson(_ x: [Double], _ y: [Double]) -> Double {
        let meanX = x.reduce(0, +) / Double(x.count)
        let meanY = y.reduce(0, +) / Double(y.count)
        var covariance = 0.0, varianceX = 0.0, varianceY = 0.0
        for index in x.indices {
            covariance += (x[index] - meanX) * (y[index] - meanY)
            varianceX += (x[index] - meanX) * (x[index] - meanX)
            varianceY += (y[index] - meanY) * (y[index] - meanY)
        }
        return varianceX > 0 && varianceY > 0 ? covariance / (varianceX * varianceY).squareRoot() : 0
    }
}
