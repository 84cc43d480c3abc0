import ArgumentParser
import CausalRecBenchmarks
import CausalRecPipeline
import Foundation

struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Run the benchmarks; each is compared with a reference measured in the same run where one exists."
    )

    @Option(help: "Write the records as JSON to this file.")
    var json: String?

    @Option(help: "Messages for the decoding benchmark.")
    var messages = 100_000

    @Option(name: .customLong("train-file"), help: "Training benchmarks on this SELFRec file instead of synthetic data.")
    var trainFile: String?

    @Option(name: .customLong("batch-size"), help: "Training benchmark batch size (default 8192).")
    var batchSize: Int?

    @Option(name: .customLong("train-epochs"), help: "Timed epochs of each training benchmark (default 10); more of them make a profile of the training loop alone.")
    var trainEpochs: Int?

    @Option(name: .customLong("checkpoint-items"), help: "Items in the state of the checkpoint memory benchmark.")
    var checkpointItems = 300_000

    @Option(help: "Run only benchmarks whose name starts with one of these prefixes (comma-separated).")
    var only: String?

    func selected(_ name: String) -> Bool {
        guard let only else { return true }
        return only.split(separator: ",").contains { name.hasPrefix($0) }
    }

    func run() async throws {
        var records: [BenchmarkRecord] = []
        if selected("machine") { records += MachineLimitsBenchmark().run() }
        if selected("decode") { records += EventDecodingBenchmark(messages: messages).run() }
        let training = TrainingBenchmark.defaultVariants.filter { selected("train.\($0.sampler.rawValue).\($0.optimizer.rawValue).\($0.threads)t") }
        if !training.isEmpty {
            var benchmark = TrainingBenchmark()
            benchmark.trainFile = trainFile
            if let batchSize { benchmark.batchSize = batchSize }
            if let trainEpochs { benchmark.epochs = max(1, trainEpochs) }
            records += try benchmark.run(training)
        }
        if selected("denoiser") { records += DenoiserBenchmark().run() }
        if selected("topk") { records += RankingBenchmark().run() }
        if selected("engine") { records += EngineBenchmark().run() }
        if selected("checkpoint_memory") { records += try CheckpointMemoryBenchmark(items: checkpointItems).run() }
        if selected("consume") || selected("end_to_end") {
            var logger = CommandSupport.makeLogger()
            logger.logLevel = .warning
            records += try await StreamingBenchmark(logger: logger).run()
        }
        for record in records {
            func number(_ value: Double) -> String { value >= 100 ? String(format: "%.0f", value) : String(format: "%.3g", value) }
            var line = "\(record.name): \(number(record.value)) \(record.unit)"
            if let reference = record.reference, let ratio = record.ratio {
                line += " (reference \(number(reference)) — \(record.referenceName ?? ""); ratio \(String(format: "%.2f", ratio))x)"
            }
            print(line)
        }
        if let json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try encoder.encode(records).write(to: URL(fileURLWithPath: json))
        }
    }
}
