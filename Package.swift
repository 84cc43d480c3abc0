// swift-tools-version: 6.1
import PackageDescription

// Without a CPU baseline every fused multiply-add in the SIMD kernels becomes a call to `fmaf`
// (~0.5 GFLOP/s instead of ~80, measured here). x86-64-v3 = AVX2 + FMA + BMI2 (Haswell,
// Zen 1 and later). The guard keeps arm64 builds working; `#if arch` is evaluated for the host that
// builds the package, which is the target for the native builds this project does.
//
// Dynamic exclusivity checks (on every access to a class's stored property) cost ~20 % of the BPR
// inner loop in a profile; the numeric core turns them off (static checks remain). Everything
// else — the service, the Kafka client, the executable — keeps them: there a violation is a bug
// to trap on, not a cost to save.
#if arch(x86_64)
let cpuBaseline: [SwiftSetting] = [.unsafeFlags(["-Xcc", "-march=x86-64-v3"])]
let cKernelSettings: [CSetting] = [.unsafeFlags(["-march=x86-64-v3", "-O3"])]
#else
let cpuBaseline: [SwiftSetting] = []
let cKernelSettings: [CSetting] = [.unsafeFlags(["-O3"])]
#endif
let numericSettings: [SwiftSetting] = cpuBaseline + [.unsafeFlags(["-enforce-exclusivity=unchecked"])]

let package = Package(
    name: "causalrec",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "causalrec", targets: ["causalrec"]),
        .library(name: "Kafka", targets: ["Kafka"]),
        .library(name: "CausalRecCore", targets: ["CausalRecCore"]),
        .library(name: "CausalRecOffline", targets: ["CausalRecOffline"]),
        .library(name: "CausalRecPipeline", targets: ["CausalRecPipeline"]),
        // The benchmarks' allocation counter, preloaded by bench/run.sh (never linked into causalrec).
        .library(name: "CAllocationInterposer", type: .dynamic, targets: ["CAllocationInterposer"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        // The HTTP endpoint (/metrics, /health, /ready, /recommendations) and its metrics.
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
    ],
    targets: [
        .systemLibrary(
            name: "CRdKafka",
            pkgConfig: "rdkafka",
            providers: [.apt(["librdkafka-dev"])]
        ),
        .systemLibrary(
            name: "COpenBLAS",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]
        ),
        // A sigaction-based SIGTERM/SIGINT handler (see signal_pipe.c for why not Dispatch).
        .target(name: "CSignalPipe"),
        .target(
            name: "Kafka",
            dependencies: [
                "CRdKafka",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Reads the allocation count of the preloaded interposer for `causalrec bench` (defines no
        // allocator symbol: an executable that defined malloc but not free would break any
        // preloaded allocator).
        .target(name: "CAllocationCounter"),
        // Counts heap allocations; built as a shared library to preload, never linked.
        .target(name: "CAllocationInterposer"),
        // Integer SIMD kernels Swift's vector types do not lower well (vpmaddubsw / vpmaddwd).
        .target(name: "CVectorKernels", cSettings: cKernelSettings),
        .target(
            name: "CausalRecCore",
            dependencies: ["COpenBLAS", "CVectorKernels"],
            swiftSettings: numericSettings
        ),
        // The offline tools: backtests on dataset splits, the converter, shift evaluation on the
        // simulator, file readers. The core alone (and Logging): no Kafka, NIO or service.
        .target(
            name: "CausalRecOffline",
            dependencies: ["CausalRecCore", .product(name: "Logging", package: "swift-log")],
            swiftSettings: cpuBaseline
        ),
        // The service: Kafka input and outputs, checkpoints, HTTP, configuration, the replay of a
        // topic (which reads files through the offline target's readers).
        .target(
            name: "CausalRecPipeline",
            dependencies: [
                "CausalRecCore",
                "CausalRecOffline",
                "Kafka",
                "CSignalPipe",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: cpuBaseline
        ),
        // The benchmarks of `causalrec bench` and `soak` (not library API).
        .target(
            name: "CausalRecBenchmarks",
            dependencies: ["CausalRecPipeline", "CausalRecOffline", "CausalRecCore", "Kafka", "CRdKafka", "CAllocationCounter",
                           .product(name: "Logging", package: "swift-log")],
            swiftSettings: cpuBaseline
        ),
        .executableTarget(
            name: "causalrec",
            dependencies: [
                "CausalRecPipeline",
                "CausalRecOffline",
                "CausalRecBenchmarks",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: cpuBaseline
        ),
        // Helpers shared by the Kafka-facing test targets (not shipped).
        .target(
            name: "KafkaTestSupport",
            dependencies: ["Kafka", .product(name: "Logging", package: "swift-log")],
            path: "Tests/KafkaTestSupport"
        ),
        // The in-memory doubles of the service's seams (producer, committer, poller, input
        // messages, a manual clock), shared by the test targets (not shipped).
        .target(
            name: "CausalRecTestSupport",
            dependencies: ["CausalRecPipeline", "Kafka"],
            path: "Tests/CausalRecTestSupport",
            swiftSettings: cpuBaseline
        ),
        .testTarget(
            name: "KafkaTests",
            dependencies: ["Kafka", "KafkaTestSupport"]
        ),
        .testTarget(
            name: "CausalRecCoreTests",
            dependencies: ["CausalRecCore"],
            swiftSettings: cpuBaseline
        ),
        .testTarget(
            name: "CausalRecOfflineTests",
            dependencies: ["CausalRecOffline"],
            swiftSettings: cpuBaseline
        ),
        .testTarget(
            name: "CausalRecPipelineTests",
            dependencies: ["CausalRecPipeline", "CausalRecOffline", "CausalRecTestSupport", "KafkaTestSupport"],
            // Golden checkpoint bodies, read by path from the source tree.
            exclude: ["Fixtures"],
            swiftSettings: cpuBaseline
        ),
        .testTarget(
            name: "IntegrationTests",
            dependencies: ["CausalRecPipeline", "CausalRecOffline", "CausalRecTestSupport", "Kafka", "KafkaTestSupport"],
            swiftSettings: cpuBaseline
        ),
    ],
    swiftLanguageModes: [.v6]
)
