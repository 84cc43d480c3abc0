import CausalRecCore
import Foundation

/// The files a replay leaves behind: `report.json` (everything, machine-readable), `report.md`
/// and `report.html` (the table and the plots, for a repository viewer and for a browser),
/// `hit-rate.svg`, `ndcg.svg`, `exposure-shift.svg`.
struct ReplayReport {
    let run: ReplayRun
    let names: [String]
    let source: String
    let invalid: Int
    let invalidReasons: [String: Int]
    let seconds: Double

    var k: Int { run.k }

    func write(to directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        func save(_ name: String, _ text: String) throws {
            try text.write(toFile: (directory as NSString).appendingPathComponent(name), atomically: true, encoding: .utf8)
        }
        try save("report.json", String(decoding: json(), as: UTF8.self) + "\n")
        try save("report.md", markdown())
        try save("report.html", html())
        try save("hit-rate.svg", chart(metric: "hit rate", value: \.hitRate).render())
        try save("ndcg.svg", chart(metric: "NDCG", value: \.ndcg).render())
        try save("exposure-shift.svg", shiftChart().render())
    }

    // MARK: JSON

    func json() -> [UInt8] {
        let totals = run.totals()
        var writer = JSONWriter(reservingCapacity: 64 * 1024)
        writer.object { w in
            w.field("source", source)
            w.field("k", k)
            w.field("window_events", run.configuration.windowEvents)
            w.field("events", run.replayedEvents)
            w.field("warmup_events", run.warmupEvents)
            w.field("invalid", invalid)
            w.object("invalid_reasons") { w in
                for (reason, count) in invalidReasons.sorted(by: { $0.value > $1.value }).prefix(20) { w.field(reason, count) }
            }
            w.field("seconds", seconds)
            w.array("samplers") { w in
                for (index, name) in names.enumerated() { samplerTotals(index, name, totals.samplers[index], into: &w) }
            }
            w.object("mostpop") { score(totals.popular, into: &$0) }
            w.object("decayed_popularity") { w in
                w.field("half_life_clicks", halfLives[chosen])
                w.field("chosen_on_share", run.configuration.peerSelectionShare)
                score(totals.decayed[chosen], into: &w)
                w.array("candidates") { w in
                    for (index, halfLife) in halfLives.enumerated() {
                        w.object { w in
                            w.field("half_life_clicks", halfLife)
                            score(totals.decayed[index], into: &w)
                        }
                    }
                }
            }
            w.array("windows") { w in
                for window in run.windows { self.window(window, into: &w) }
            }
            w.object("drift") { w in
                w.field("window_events", run.configuration.drift.windowEvents)
                w.field("warmup_events", run.configuration.drift.warmupEvents)
                w.array("windows") { w in
                    for measurement in (run.monitor?.history ?? []) {
                        w.object { w in
                            w.field("end_event", measurement.endEventIndex)
                            for (metric, value) in measurement.values.sorted(by: { $0.key < $1.key }) { w.field(metric, value) }
                        }
                    }
                }
                w.array("alerts") { w in
                    for alert in run.alerts { self.alert(alert, into: &w) }
                }
            }
        }
        return writer.bytes
    }

    private func samplerTotals(_ index: Int, _ name: String, _ totals: ReplayRun.Score, into writer: inout JSONWriter) {
        writer.object { w in
            w.field("sampler", name)
            score(totals, into: &w)
            w.field("model_version", run.models[index].modelVersion)
            for (key, selector) in [("ranking_exponent", run.models[index].ranking.rankingExponent),
                                    ("cold_start_exponent", run.models[index].ranking.coldStartExponent)] {
                w.object(key) { w in
                    w.field("chosen", selector.chosen)
                    w.array("candidates") { w in
                        for (candidate, rate) in zip(selector.candidates, selector.hitRates) {
                            w.object { w in
                                w.field("exponent", candidate)
                                w.field("recent_hit_rate", rate)
                            }
                        }
                    }
                }
            }
        }
    }

    private func window(_ window: ReplayRun.Window, into writer: inout JSONWriter) {
        writer.object { w in
            w.field("first_event", window.firstEvent)
            w.field("last_event", window.lastEvent)
            w.field("first_ts", window.firstTimestamp)
            w.field("last_ts", window.lastTimestamp)
            w.object("samplers") { w in
                for (index, name) in names.enumerated() { w.object(name) { score(window.samplers[index], into: &$0) } }
            }
            w.object("mostpop") { score(window.popular, into: &$0) }
            w.object("decayed_popularity") { score(window.decayed[chosen], into: &$0) }
        }
    }

    private func alert(_ alert: DriftAlert, into writer: inout JSONWriter) {
        writer.object { w in
            w.field("metric", alert.metric)
            w.field("method", alert.method)
            w.field("value", alert.value)
            w.field("threshold", alert.threshold)
            w.field("severity", alert.severity)
            w.field("event", alert.eventIndex)
            w.field("ts", alert.timestamp)
            w.field("window_start", alert.windowStart)
            w.field("window_end", alert.windowEnd)
        }
    }

    private var halfLives: [Int] { run.configuration.decayedHalfLives }
    private var chosen: Int { run.chosenHalfLifeIndex }

    /// The peers' row names in tables and charts.
    private var decayedName: String { "decayed popularity (half-life \(halfLives[chosen]) clicks)" }
    private static let mostPopularName = "mostpop (clicks so far)"

    private func score(_ score: ReplayRun.Score, into writer: inout JSONWriter) {
        writer.key("evaluated"); writer.integer(score.evaluated)
        writer.key("hit_rate@\(k)"); writer.number(score.hitRate)
        writer.key("ndcg@\(k)"); writer.number(score.ndcg)
    }

    // MARK: Markdown

    func summaryLines() -> [String] {
        let totals = run.totals()
        var lines = names.enumerated().map { index, name in
            "\(name): hit_rate@\(k) \(Self.f(totals.samplers[index].hitRate)) ndcg@\(k) \(Self.f(totals.samplers[index].ndcg)) over \(totals.samplers[index].evaluated) clicks"
        }
        lines.append("mostpop: hit_rate@\(k) \(Self.f(totals.popular.hitRate)) ndcg@\(k) \(Self.f(totals.popular.ndcg))")
        lines.append("\(decayedName): hit_rate@\(k) \(Self.f(totals.decayed[chosen].hitRate)) ndcg@\(k) \(Self.f(totals.decayed[chosen].ndcg))")
        lines.append("events \(run.replayedEvents) (+\(run.warmupEvents) warm-up), invalid \(invalid), drift alerts \(run.alerts.count)")
        return lines
    }

    func markdown() -> String {
        let totals = run.totals()
        var text = """
        # Replay report

        Source: \(source). Test-then-train: every click is ranked by each model (all items, the user's
        earlier clicks excluded) before the model learns it. \(run.replayedEvents) events replayed\
        \(run.warmupEvents > 0 ? " after \(run.warmupEvents) warm-up events learned without scoring" : ""); \(invalid) invalid \
        events skipped; windows of \(run.configuration.windowEvents) events; \(Self.seconds(seconds)).

        The rows marked peer have no model: the most-clicked items so far, and popularity decayed
        with the half-life (in clicks) that scored best on the first \(Int(run.configuration.peerSelectionShare * 100)) % of the replay \
        (candidates \(halfLives.map(String.init).joined(separator: ", "))).

        | sampler | clicks scored | hit-rate@\(k) | NDCG@\(k) | model version |
        |---|---:|---:|---:|---:|

        """
        for (index, name) in names.enumerated() {
            let score = totals.samplers[index]
            text += "| \(name) | \(score.evaluated) | \(Self.f(score.hitRate)) | \(Self.f(score.ndcg)) | \(run.models[index].modelVersion) |\n"
        }
        for (name, score) in [(Self.mostPopularName, totals.popular), (decayedName, totals.decayed[chosen])] {
            text += "| \(name) (peer) | \(score.evaluated) | \(Self.f(score.hitRate)) | \(Self.f(score.ndcg)) | – |\n"
        }
        text += "\n"
        text += "![hit rate per window](hit-rate.svg)\n\n![NDCG per window](ndcg.svg)\n\n![exposure shift](exposure-shift.svg)\n\n"
        text += "## Drift alerts\n\n"
        if run.alerts.isEmpty {
            text += "None (drift windows of \(run.configuration.drift.windowEvents) events after a warm-up of \(run.configuration.drift.warmupEvents)).\n"
        } else {
            text += "| event | metric | method | value | threshold | severity |\n|---:|---|---|---:|---:|---|\n"
            for alert in run.alerts {
                text += "| \(alert.eventIndex) | \(alert.metric) | \(alert.method) | \(Self.f(alert.value)) | \(Self.f(alert.threshold)) | \(alert.severity) |\n"
            }
        }
        if !invalidReasons.isEmpty {
            text += "\n## Invalid events\n\n"
            for (reason, count) in invalidReasons.sorted(by: { $0.value > $1.value }).prefix(10) { text += "- \(count) × \(reason)\n" }
        }
        return text
    }

    /// The same content as `report.md`, self-contained except for the three SVGs beside it.
    func html() -> String {
        let totals = run.totals()
        let e = SVGLineChart.escape
        var rows = ""
        for (index, name) in names.enumerated() {
            let score = totals.samplers[index]
            rows += "<tr><td>\(e(name))</td><td>\(score.evaluated)</td><td>\(Self.f(score.hitRate))</td><td>\(Self.f(score.ndcg))</td><td>\(run.models[index].modelVersion)</td></tr>\n"
        }
        for (name, score) in [(Self.mostPopularName, totals.popular), (decayedName, totals.decayed[chosen])] {
            rows += "<tr><td>\(e(name)) (peer)</td><td>\(score.evaluated)</td><td>\(Self.f(score.hitRate))</td><td>\(Self.f(score.ndcg))</td><td>–</td></tr>\n"
        }
        var alerts = ""
        for alert in run.alerts {
            alerts += "<tr><td>\(alert.eventIndex)</td><td>\(e(alert.metric))</td><td>\(e(alert.method))</td><td>\(Self.f(alert.value))</td><td>\(Self.f(alert.threshold))</td><td>\(e(alert.severity))</td></tr>\n"
        }
        return """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><title>Replay report</title>
        <style>body{font-family:sans-serif;max-width:820px;margin:2em auto;line-height:1.4}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}td:first-child,th:first-child{text-align:left}img{display:block;margin:1.5em 0}</style>
        </head><body>
        <h1>Replay report</h1>
        <p>Source: \(e(source)). Test-then-train: every click is ranked by each model (all items, the user's earlier clicks excluded) before the model learns it. \(run.replayedEvents) events replayed\(run.warmupEvents > 0 ? " after \(run.warmupEvents) warm-up events learned without scoring" : ""); \(invalid) invalid events skipped; windows of \(run.configuration.windowEvents) events; \(Self.seconds(seconds)).</p>
        <table><tr><th>sampler</th><th>clicks scored</th><th>hit-rate@\(k)</th><th>NDCG@\(k)</th><th>model version</th></tr>
        \(rows)</table>
        <img src="hit-rate.svg" alt="hit rate per window"><img src="ndcg.svg" alt="NDCG per window"><img src="exposure-shift.svg" alt="exposure shift">
        <h2>Drift alerts</h2>
        \(run.alerts.isEmpty ? "<p>None.</p>" : "<table><tr><th>event</th><th>metric</th><th>method</th><th>value</th><th>threshold</th><th>severity</th></tr>\n\(alerts)</table>")
        </body></html>

        """
    }

    // MARK: Charts

    private var alertMarkers: [(label: String, x: Double)] {
        run.alerts.map { ("\($0.metric) \($0.method) \(Self.f($0.value))", Double($0.eventIndex)) }
    }

    func chart(metric: String, value: KeyPath<ReplayRun.Score, Double>) -> SVGLineChart {
        var chart = SVGLineChart(title: "\(metric)@\(k) per window of \(run.configuration.windowEvents) events (test-then-train)",
                                 xLabel: "events replayed", yLabel: "\(metric)@\(k)")
        for (index, name) in names.enumerated() {
            chart.series.append(.init(name: name, points: run.windows.filter { $0.samplers[index].evaluated > 0 }.map {
                (Double($0.lastEvent), $0.samplers[index][keyPath: value])
            }))
        }
        chart.series.append(.init(name: "mostpop", points: run.windows.filter { $0.popular.evaluated > 0 }.map {
            (Double($0.lastEvent), $0.popular[keyPath: value])
        }, dashed: true))
        let chosen = self.chosen
        chart.series.append(.init(name: "decayed popularity", points: run.windows.filter { $0.decayed[chosen].evaluated > 0 }.map {
            (Double($0.lastEvent), $0.decayed[chosen][keyPath: value])
        }, dashed: true))
        chart.markers = alertMarkers
        return chart
    }

    func shiftChart() -> SVGLineChart {
        var chart = SVGLineChart(title: "Shift against the reference window (drift windows of \(run.configuration.drift.windowEvents) events)",
                                 xLabel: "events replayed", yLabel: "distance")
        let drift = run.configuration.drift
        for (metric, label) in [("exposure_js", "exposure JS"), ("click_js", "clicked-item JS"), ("new_item_share", "new-item share")] {
            let points = (run.monitor?.history ?? []).compactMap { measurement in
                measurement.values[metric].map { (Double(measurement.endEventIndex), $0) }
            }
            if !points.isEmpty { chart.series.append(.init(name: label, points: points)) }
        }
        chart.horizontalLines = [("exposure JS threshold", drift.exposureJSThreshold), ("click JS threshold", drift.clickJSThreshold)]
        chart.markers = alertMarkers
        return chart
    }

    static func f(_ value: Double) -> String { String(format: "%.4f", value) }

    static func seconds(_ value: Double) -> String {
        value >= 60 ? "\(Int(value) / 60) min \(Int(value) % 60) s" : String(format: "%.1f s", value)
    }
}
