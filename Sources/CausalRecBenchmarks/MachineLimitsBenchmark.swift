import CausalRecCore

/// The machine's own limits, measured in the same run as everything else, so every ratio in
/// BENCHMARKS.md can be read against them: streaming read bandwidth (a 256 MB buffer summed with
/// 8-wide SIMD loads, best of several passes) and single-thread sgemm (OpenBLAS, 512³).
public struct MachineLimitsBenchmark: Sendable {
    public init() {}

    public func run() -> [BenchmarkRecord] {
        let floats = 64 * 1_048_576
        let buffer = UnsafeMutablePointer<Float>.allocate(capacity: floats)
        defer { buffer.deallocate() }
        buffer.initialize(repeating: 1, count: floats)
        var checksum: Float = 0
        var best = Double.infinity
        for _ in 0..<5 {
            let seconds = ContinuousClock().measure {
                var sum = VectorKernels.Chunk(repeating: 0)
                let base = UnsafeRawPointer(buffer)
                for chunk in 0..<(floats / 8) { sum += base.load(fromByteOffset: chunk * 32, as: VectorKernels.Chunk.self) }
                checksum += sum.sum()
            }.inSeconds
            best = min(best, seconds)
        }
        let size = 512
        let a = DenseMatrix(rows: size, columns: size)
        let b = DenseMatrix(rows: size, columns: size)
        let c = DenseMatrix(rows: size, columns: size)
        Gemm.multiply(a, b, into: c, rows: size)
        let repetitions = 20
        let rate = EventDecodingBenchmark.rate(repetitions) {
            for _ in 0..<repetitions { Gemm.multiply(a, b, into: c, rows: size) }
        }
        precondition(checksum > 0)
        return [
            BenchmarkRecord(name: "machine.stream_read", value: Double(floats * 4) / best / 1e9, unit: "GB/s (256 MB, one thread)"),
            BenchmarkRecord(name: "machine.sgemm", value: rate * 2 * Double(size * size * size) / 1e9, unit: "GFLOP/s (OpenBLAS, 512³, one thread)"),
        ]
    }
}
