import ArgumentParser
import CausalRecCore
import CausalRecBenchmarks
import CausalRecPipeline
import Foundation

struct SoakCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "soak",
        abstract: "Memory soak: a long simulator stream with user and item churn through one recommender, RSS over time."
    )

    @Option(help: "Events.")
    var events = 10_000_000

    @Option(name: .customLong("churn-every"), help: "One user and one item are replaced by new ids every this many events.")
    var churnEvery = 100

    @Option(name: .customLong("report-every"), help: "Print a line every this many events.")
    var reportEvery = 1_000_000

    @Option(help: "Pipeline configuration whose model and retention settings to use (default: built-in defaults).")
    var config: String?

    @Option(name: .customLong("user-idle-seconds"), help: "Override retention.user_idle_seconds (0 = never evict).")
    var userIdleSeconds: Double?

    @Option(name: .customLong("item-idle-seconds"), help: "Override retention.item_idle_seconds (0 = never evict).")
    var itemIdleSeconds: Double?

    func run() throws {
        var configuration = PipelineConfiguration()
        if let config { configuration = try CommandSupport.loadConfiguration(config) }
        var recommender = configuration.recommender
        // Scoring every n-th click ranks all items; it would measure ranking, not memory.
        recommender.evaluateEveryNthClick = 0
        if let userIdleSeconds { recommender.retention.userIdleSeconds = userIdleSeconds }
        if let itemIdleSeconds { recommender.retention.itemIdleSeconds = itemIdleSeconds }
        let retention = recommender.retention
        let header = """
        # soak: \(events) events, churn every \(churnEvery), user idle \(retention.userIdleSeconds) s, item idle \(retention.itemIdleSeconds) s, dimension \(recommender.model.dimension)
        | events | RSS MB | user rows | item rows | active users | active items | evicted users | evicted items | seconds |
        |---:|---:|---:|---:|---:|---:|---:|---:|---:|

        """
        FileHandle.standardOutput.write(Data(header.utf8))
        MemorySoak(events: events, churnEvery: churnEvery, reportEvery: reportEvery, recommender: recommender).run { sample in
            let line = "| \(sample.events) | \(String(format: "%.0f", sample.residentMegabytes)) | \(sample.userRows) | \(sample.itemRows) | \(sample.activeUsers) | \(sample.activeItems) | \(sample.evictedUsers) | \(sample.evictedItems) | \(String(format: "%.0f", sample.seconds)) |\n"
            // Unbuffered, so a long soak shows its lines as they come even through a pipe.
            FileHandle.standardOutput.write(Data(line.utf8))
        }
    }
}
