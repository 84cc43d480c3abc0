import CausalRecCore

/// The denoiser's batched forward pass (the cost of generating negatives) in GFLOP/s, against
/// the same three matrix products as bare `sgemm` calls measured in the same run — the ratio is
/// what bias, activation and bookkeeping cost on top of the arithmetic.
public struct DenoiserBenchmark: Sendable {
    /// 512 positives × 3 noise levels, as one sampling chunk of the default configuration.
    public var rows = 1_536
    public var repetitions = 200

    public init() {}

    public func run() -> [BenchmarkRecord] {
        let configuration = CNSDiffConfiguration()
        let layout = DenoiserLayout(configuration: configuration, dimension: 64, environments: 4)
        let parameters = DenoiserParameters(layout: layout, initializeWith: 1)
        let network = DenoiserNetwork(layout: layout, activation: configuration.activation, steps: configuration.steps,
                                      capacity: rows)
        var random = Xoshiro256(seed: 2)
        var noisy = [Float](repeating: 0, count: 64)
        for row in 0..<rows {
            for column in 0..<64 { noisy[column] = Float(random.nextGaussian()) }
            noisy.withUnsafeBufferPointer {
                network.setInput(row: row, noisy: $0.baseAddress!, user: $0.baseAddress!, environment: row % 4, step: row % 50,
                                 parameters: parameters)
            }
        }
        let flops = 2.0 * Double(rows) * Double(layout.multiplyAddsPerRow)
        network.forward(parameters, rows: rows)
        let forward = EventDecodingBenchmark.rate(repetitions) {
            for _ in 0..<repetitions { network.forward(parameters, rows: rows) }
        } * flops / 1e9
        // The same products without bias or activation.
        let input = DenseMatrix(rows: rows, columns: layout.inputWidth)
        input.copy(from: network.input)
        let hidden1 = DenseMatrix(rows: rows, columns: layout.hidden)
        let hidden2 = DenseMatrix(rows: rows, columns: layout.hidden)
        let output = DenseMatrix(rows: rows, columns: layout.dimension)
        let plain = EventDecodingBenchmark.rate(repetitions) {
            for _ in 0..<repetitions {
                Gemm.multiply(input, parameters.w1, into: hidden1, rows: rows)
                Gemm.multiply(hidden1, parameters.w2, into: hidden2, rows: rows)
                Gemm.multiply(hidden2, parameters.w3, into: output, rows: rows)
            }
        } * flops / 1e9
        return [BenchmarkRecord(name: "denoiser.forward", value: forward, unit: "GFLOP/s", reference: plain,
                                referenceName: "the same three sgemm products alone (OpenBLAS, 1 thread), \(rows) rows")]
    }
}
