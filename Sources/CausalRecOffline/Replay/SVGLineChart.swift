import Foundation

/// A small self-contained SVG line chart (no scripts, no external styles) for replay reports:
/// one polyline per series, optional dashed threshold lines and red vertical markers (alerts).
struct SVGLineChart {
    struct Series {
        var name: String
        var points: [(x: Double, y: Double)]
        var dashed = false
    }

    var title: String
    var xLabel: String
    var yLabel: String
    var series: [Series] = []
    var horizontalLines: [(label: String, y: Double)] = []
    var markers: [(label: String, x: Double)] = []

    static let palette = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf", "#7f7f7f"]

    func render(width: Double = 760, height: Double = 360) -> String {
        let left = 64.0, right = 180.0, top = 36.0, bottom = 48.0
        let plotWidth = width - left - right, plotHeight = height - top - bottom
        let xs = series.flatMap { $0.points.map(\.x) } + markers.map(\.x)
        let ys = series.flatMap { $0.points.map(\.y) } + horizontalLines.map(\.y)
        let xMin = min(0, xs.min() ?? 0), xMax = max(xs.max() ?? 1, xMin + 1)
        let yMin = min(0, ys.min() ?? 0), yMax = Self.niceCeiling(max(ys.max() ?? 1, yMin + 1e-9))
        func px(_ x: Double) -> Double { left + (x - xMin) / (xMax - xMin) * plotWidth }
        func py(_ y: Double) -> Double { top + plotHeight - (y - yMin) / (yMax - yMin) * plotHeight }

        var svg = """
        <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" viewBox="0 0 \(Int(width)) \(Int(height))" font-family="sans-serif" font-size="11">
        <rect width="100%" height="100%" fill="white"/>
        <text x="\(left)" y="20" font-size="14" font-weight="bold">\(Self.escape(title))</text>

        """
        for tick in 0...4 {
            let y = yMin + (yMax - yMin) * Double(tick) / 4
            svg += "<line x1=\"\(f(left))\" y1=\"\(f(py(y)))\" x2=\"\(f(left + plotWidth))\" y2=\"\(f(py(y)))\" stroke=\"#e5e5e5\"/>\n"
            svg += "<text x=\"\(f(left - 6))\" y=\"\(f(py(y) + 4))\" text-anchor=\"end\">\(Self.format(y))</text>\n"
            let x = xMin + (xMax - xMin) * Double(tick) / 4
            svg += "<text x=\"\(f(px(x)))\" y=\"\(f(top + plotHeight + 16))\" text-anchor=\"middle\">\(Self.format(x))</text>\n"
        }
        svg += "<rect x=\"\(f(left))\" y=\"\(f(top))\" width=\"\(f(plotWidth))\" height=\"\(f(plotHeight))\" fill=\"none\" stroke=\"#444\"/>\n"
        svg += "<text x=\"\(f(left + plotWidth / 2))\" y=\"\(f(height - 10))\" text-anchor=\"middle\">\(Self.escape(xLabel))</text>\n"
        svg += "<text x=\"14\" y=\"\(f(top + plotHeight / 2))\" text-anchor=\"middle\" transform=\"rotate(-90 14 \(f(top + plotHeight / 2)))\">\(Self.escape(yLabel))</text>\n"
        for line in horizontalLines {
            svg += "<line x1=\"\(f(left))\" y1=\"\(f(py(line.y)))\" x2=\"\(f(left + plotWidth))\" y2=\"\(f(py(line.y)))\" stroke=\"#999\" stroke-dasharray=\"2 3\"/>\n"
            svg += "<text x=\"\(f(left + plotWidth - 4))\" y=\"\(f(py(line.y) - 3))\" text-anchor=\"end\" fill=\"#666\">\(Self.escape(line.label))</text>\n"
        }
        for marker in markers {
            svg += "<line x1=\"\(f(px(marker.x)))\" y1=\"\(f(top))\" x2=\"\(f(px(marker.x)))\" y2=\"\(f(top + plotHeight))\" stroke=\"#d00\" stroke-width=\"1.5\"><title>\(Self.escape(marker.label))</title></line>\n"
        }
        for (index, line) in series.enumerated() where !line.points.isEmpty {
            let color = Self.palette[index % Self.palette.count]
            let points = line.points.map { "\(f(px($0.x))),\(f(py($0.y)))" }.joined(separator: " ")
            svg += "<polyline fill=\"none\" stroke=\"\(color)\" stroke-width=\"1.8\"\(line.dashed ? " stroke-dasharray=\"5 3\"" : "") points=\"\(points)\"/>\n"
            let legendY = top + 14 + Double(index) * 16
            svg += "<line x1=\"\(f(left + plotWidth + 12))\" y1=\"\(f(legendY - 4))\" x2=\"\(f(left + plotWidth + 32))\" y2=\"\(f(legendY - 4))\" stroke=\"\(color)\" stroke-width=\"2\"\(line.dashed ? " stroke-dasharray=\"5 3\"" : "")/>\n"
            svg += "<text x=\"\(f(left + plotWidth + 36))\" y=\"\(f(legendY))\">\(Self.escape(line.name))</text>\n"
        }
        if !markers.isEmpty {
            let legendY = top + 14 + Double(series.count) * 16
            svg += "<line x1=\"\(f(left + plotWidth + 22))\" y1=\"\(f(legendY - 10))\" x2=\"\(f(left + plotWidth + 22))\" y2=\"\(f(legendY + 2))\" stroke=\"#d00\" stroke-width=\"1.5\"/>\n"
            svg += "<text x=\"\(f(left + plotWidth + 36))\" y=\"\(f(legendY))\">drift alert (\(markers.count))</text>\n"
        }
        svg += "</svg>\n"
        return svg
    }

    private func f(_ value: Double) -> String { String(format: "%.1f", value) }

    static func format(_ value: Double) -> String {
        if value == 0 { return "0" }
        if abs(value) >= 1_000_000 { return String(format: "%.1fM", value / 1_000_000) }
        if abs(value) >= 10_000 { return String(format: "%.0fk", value / 1_000) }
        if abs(value) >= 100 { return String(format: "%.0f", value) }
        return String(format: "%.3g", value)
    }

    static func niceCeiling(_ value: Double) -> Double {
        guard value > 0 else { return 1 }
        let magnitude = pow(10, floor(log10(value)))
        for step in [1.0, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10] where step * magnitude >= value { return step * magnitude }
        return 10 * magnitude
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }
}
