import Foundation
import Testing

/// The shipped binary must not define allocator symbols: an executable that defines malloc but
/// not free hands a preloaded allocator (jemalloc, tcmalloc, mimalloc) pointers it never made.
@Suite("causalrec defines no allocator symbol")
struct AllocatorSymbolsTests {
    static var binary: String {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("causalrec").path
    }

    @Test("nm -D --defined-only lists none of malloc, calloc, realloc, memalign, aligned_alloc, posix_memalign")
    func noAllocatorSymbols() throws {
        let binary = Self.binary
        try #require(FileManager.default.isExecutableFile(atPath: binary), "build causalrec first (\(binary))")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/nm")
        process.arguments = ["-D", "--defined-only", binary]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        let defined = Set(output.split(separator: "\n").compactMap { $0.split(separator: " ").last.map(String.init) })
        let allocators: Set = ["malloc", "calloc", "realloc", "memalign", "aligned_alloc", "posix_memalign", "free"]
        #expect(defined.isDisjoint(with: allocators), "\(defined.intersection(allocators).sorted())")
    }
}
