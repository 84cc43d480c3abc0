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
        writer.beginObject()
        writer.key("source"); writer.string(source)
        writer.key("k"); writer.integer(k)
        writer.key("window_events"); writer.integer(run.configuration.windowEvents)
        writer.key("events"); writer.integer(run.replayedEvents)
        writer.key("warmup_events"); writer.integer(run.warmupEvents)
        writer.key("invalid"); writer.integer(invalid)
        writer.key("invalid_reasons")
        writer.beginObject()
        for (reason, count) in invalidReasons.sorted(by: { $0.value > $1.value }).prefix(20) {
            writer.key(reason); writer.integer(count)
        }
        writer.endObject()
        writer.key("seconds"); writer.number(seconds)
        writer.key("samplers")
        writer.beginArray()
        for (index, name) in names.enumerated() {
            writer.beginObject()
            writer.key("sampler"); writer.string(name)
            score(totals.samplers[index], into: &writer)
            writer.key("model_version"); writer.integer(run.models[index].modelVersion)
            for (key, selector) in [("ranking_exponent", run.models[index].ranking.rankingExponent),
                                    ("cold_start_exponent", run.models[index].ranking.coldStartExponent)] {
                writer.key(key)
                writer.beginObject()
                writer.key("chosen"); writer.number(selector.chosen)
                writer.key("candidates")
                writer.beginArray()
                for (candidate, rate) in zip(selector.candidates, selector.hitRates) {
                    writer.beginObject()
                    writer.key("exponent"); writer.number(candidate)
                    writer.key("recent_hit_rate"); writer.number(rate)
                    writer.endObject()
                }
                writer.endArray()
                writer.endObject()
            }
            writer.endObject()
        }
        writer.endArray()
        writer.key("mostpop")
        writer.beginObject()
        score(totals.popular, into: &writer)
        writer.endObject()
        writer.key("decayed_popularity")
        writer.beginObject()
        writer.key("half_life_clicks"); writer.integer(halfLives[chosen])
        writer.key("chosen_on_share"); writer.number(run.configuration.peerSelectionShare)
        score(totals.decayed[chosen], into: &writer)
        writer.key("candidates")
        writer.beginArray()
        for (index, halfLife) in halfLives.enumerated() {
            writer.beginObject()
            writer.key("half_life_clicks"); writer.integer(halfLife)
            score(totals.decayed[index], into: &writer)
            writer.endObject()
        }
        writer.endArray()
        writer.endObject()
        writer.key("windows")
        writer.beginArray()
        for window in run.windows {
            writer.beginObject()
            writer.key("first_event"); writer.integer(window.firstEvent)
            writer.key("last_event"); writer.integer(window.lastEvent)
            writer.key("first_ts"); writer.integer(window.firstTimestamp)
            writer.key("last_ts"); writer.integer(window.lastTimestamp)
            writer.key("samplers")
            writer.beginObject()
            for (index, name) in names.enumerated() {
                writer.key(name)
                writer.beginObject()
                score(window.samplers[index], into: &writer)
                writer.endObject()
            }
            writer.endObject()
            writer.key("mostpop")
            writer.beginObject()
            score(window.popular, into: &writer)
            writer.endObject()
            writer.key("decayed_popularity")
            writer.beginObject()
            score(window.decayed[chosen], into: &writer)
            writer.endObject()
            writer.endObject()
        }
        writer.endArray()
        writer.key("drift")
        writer.beginObject()
        writer.key("window_events"); writer.integer(run.configuration.drift.windowEvents)
        writer.key("warmup_events"); writer.integer(run.configuration.drift.warmupEvents)
        writer.key("windows")
        writer.beginArray()
        for measurement in (run.monitor?.history ?? []) {
            writer.beginObject()
            writer.key("end_event"); writer.integer(measurement.endEventIndex)
            for (metric, value) in measurement.values.sorted(by: { $0.key < $1.key }) {
                writer.key(metric); writer.number(value)
            }
            writer.endObject()
        }
        writer.endArray()
        writer.key("alerts")
        writer.beginArray()
        for alert in run.alerts {
            writer.beginObject()
            writer.key("metric"); writer.string(alert.metric)
            writer.key("method"); writer.string(alert.method)
            writer.key("value"); writer.number(alert.value)
            writer.key("threshold"); writer.number(alert.threshold)
            writer.key("severity"); writer.string(alert.severity)
            writer.key("event"); writer.integer(alert.eventIndex)
            writer.key("ts"); writer.integer(alert.timestamp)
            writer.key("window_start"); writer.integer(alert.windowStart)
            writer.key("window_end"); writer.integer(alert.windowEnd)
            writer.endObject()
        }
        writer.endArray()
        writer.endObject()
        writer.endObject()
        return writer.bytes
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
