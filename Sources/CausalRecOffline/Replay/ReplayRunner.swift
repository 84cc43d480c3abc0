import CausalRecCore
import Foundation
import Logging

/// `causalrec replay`: test-then-train over a record source (event files, a topic range) with
/// several samplers side by side, then a report directory (report.json, report.md, SVG plots).
public struct ReplayOptions: Sendable {
    /// Files learned from (in their own merged order) before the scored replay, without scoring.
    public var warmFiles: [String] = []
    /// Sampler names; empty: the configured sampler alone.
    public var samplers: [String]
    public var recommender: RecommenderConfiguration
    public var drift: DriftConfiguration
    /// Limits of the event decoder for the warm-up files (the source decodes its own records).
    public var eventLimits: EventLimits
    public var windowEvents: Int
    public var reportDirectory: String
    public var progress = true

    public init(samplers: [String], recommender: RecommenderConfiguration, drift: DriftConfiguration, eventLimits: EventLimits,
                windowEvents: Int, reportDirectory: String)
    {
        self.samplers = samplers
        self.recommender = recommender
        self.drift = drift
        self.eventLimits = eventLimits
        self.windowEvents = windowEvents
        self.reportDirectory = reportDirectory
    }
}

public struct ReplaySummary: Sendable {
    public var events: Int
    public var invalid: Int
    public var alerts: Int
    public var lines: [String]
}

public final class ReplayRunner {
    private let options: ReplayOptions
    private let logger: Logger
    private var invalid = 0
    private var invalidReasons: [String: Int] = [:]
    private var lastProgress = ContinuousClock.now
    private let started = ContinuousClock.now

    public init(options: ReplayOptions, logger: Logger) {
        self.options = options
        self.logger = logger
    }

    /// The sampler configurations for the names: the configuration file's own settings where its
    /// sampler has that name, the defaults of the name otherwise.
    static func samplerConfigurations(_ names: [String], configured: SamplerConfiguration) throws -> [SamplerConfiguration] {
        guard !names.isEmpty else { return [configured] }
        return try names.map { name in
            if name == configured.name { return configured }
            guard let sampler = SamplerConfiguration.named(name) else {
                throw ReplaySourceError(description: "--samplers: unknown sampler '\(name)' (known: \(SamplerConfiguration.names.joined(separator: ", ")))")
            }
            return sampler
        }
    }

    package func run(from source: any ReplayRecordSource) throws -> ReplaySummary {
        let samplers = try Self.samplerConfigurations(options.samplers, configured: options.recommender.sampler)
        let names = samplers.map(\.name)
        guard Set(names).count == names.count else {
            throw ReplaySourceError(description: "--samplers: a sampler is named twice")
        }
        let run = ReplayRun(configuration: .init(recommender: options.recommender, samplers: samplers,
                                                 windowEvents: options.windowEvents, drift: options.drift))
        let decoder = EventDecoder(limits: options.eventLimits)

        if !options.warmFiles.isEmpty {
            let warm = try ReplayFileStream(paths: options.warmFiles, decoder: decoder)
            while case let batch = try warm.nextBatch(), !batch.isEmpty {
                for record in batch {
                    guard case let .success(event) = record.event else { noteInvalid(record); continue }
                    run.warm(event, timestamp: record.timestamp)
                }
            }
            logger.info("warmed up", metadata: ["events": "\(run.warmupEvents)", "files": "\(options.warmFiles.joined(separator: ","))"])
        }

        try source.read { records in try self.replay(records, into: run, total: source.totalToRead) }
        run.finish()
        finishProgress()

        let report = ReplayReport(run: run, names: names, source: source.sourceDescription, invalid: invalid, invalidReasons: invalidReasons,
                                  seconds: (ContinuousClock.now - started).inSeconds)
        try report.write(to: options.reportDirectory)
        return ReplaySummary(events: run.replayedEvents, invalid: invalid, alerts: run.alerts.count, lines: report.summaryLines())
    }

    private var done = 0

    private func replay(_ records: [ReplayRecord], into run: ReplayRun, total: Int) throws {
        for record in records {
            done += 1
            switch record.event {
            case let .success(event):
                let alerts = run.replay(event, timestamp: record.timestamp)
                for alert in alerts {
                    logger.info("drift alert", metadata: ["metric": "\(alert.metric)", "value": "\(alert.value)",
                                                          "threshold": "\(alert.threshold)", "event": "\(alert.eventIndex)"])
                }
            case .failure:
                noteInvalid(record)
            }
            if done % 1_000 == 0 { showProgress(total: total) }
        }
    }

    private func noteInvalid(_ record: ReplayRecord) {
        guard case let .failure(rejection) = record.event else { return }
        invalid += 1
        invalidReasons["\(rejection)", default: 0] += 1
        if invalid <= 5 { logger.warning("skipping an invalid event at \(record.partition):\(record.offset): \(rejection)") }
    }

    private func showProgress(total: Int) {
        guard options.progress, ContinuousClock.now - lastProgress >= .milliseconds(500) else { return }
        lastProgress = .now
        let elapsed = (ContinuousClock.now - started).inSeconds
        let rate = elapsed > 0 ? Double(done) / elapsed : 0
        let share = total > 0 ? min(1, Double(done) / Double(total)) : 0
        let width = 24
        let filled = Int(share * Double(width))
        let eta = rate > 0 && total > done ? BacktestProgress.format(Double(total - done) / rate) : "-"
        // Files are streamed, so their total is not known in advance: then only the count and rate.
        let line = total > 0
            ? "[\(String(repeating: "#", count: filled))\(String(repeating: ".", count: width - filled))] \(done)/\(total) events | \(Int(rate)) events/s | ETA \(eta)"
            : "\(done) events | \(Int(rate)) events/s"
        if isatty(STDERR_FILENO) == 1 {
            FileHandle.standardError.write(Data(("\r\u{1B}[K" + line).utf8))
        } else {
            FileHandle.standardError.write(Data((line + "\n").utf8))
        }
    }

    private func finishProgress() {
        if options.progress && isatty(STDERR_FILENO) == 1 { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}
