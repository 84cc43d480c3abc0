import CausalRecCore
@testable import CausalRecPipeline
import Foundation
import Testing

/// The checkpoint body is a contract with every checkpoint already on a user's disk: its bytes
/// for a fixed stream are checked in (`Fixtures/checkpoint-body-<sampler>-layout<N>.bin`), so a
/// change of the layout fails here until it is made deliberately — a new
/// `OnlineRecommender.stateLayoutVersion` and a new golden file — and every older layout this
/// build still reads must restore to exactly the state the current layout writes.
///
/// `CAUSALREC_WRITE_GOLDEN=1 swift test --filter GoldenCheckpointTests` writes the current
/// layout's files (only when the layout number is new: a file of an existing layout is never
/// rewritten).
@Suite("Golden checkpoint bodies")
struct GoldenCheckpointTests {
    static let samplers = SamplerKind.allCases.map(\.rawValue)

    /// The first layout with a golden body of a sampler (samplers added later have no older one;
    /// `cnsdiff` became version 2 at layout 6, and the older bodies of that name are `cnsdiff-v1`'s).
    static let firstLayout = ["causal": 5, "cnsdiff": 6]

    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

    static func goldenURL(sampler: String, layout: Int) -> URL {
        fixtures.appendingPathComponent("checkpoint-body-\(sampler)-layout\(layout).bin")
    }

    static func golden(sampler: String, layout: Int) throws -> [UInt8]? {
        guard let data = FileManager.default.contents(atPath: goldenURL(sampler: sampler, layout: layout).path) else { return nil }
        return Array(data)
    }

    @Test("the body of a fixed stream is byte for byte the checked-in file of the current layout", arguments: samplers)
    func currentLayoutIsGolden(sampler: String) throws {
        let body = CheckpointFuzzTests.Fixture(sampler: sampler).realBody()
        let layout = OnlineRecommender.stateLayoutVersion
        let url = Self.goldenURL(sampler: sampler, layout: layout)
        if ProcessInfo.processInfo.environment["CAUSALREC_WRITE_GOLDEN"] == "1" && !FileManager.default.fileExists(atPath: url.path) {
            try FileManager.default.createDirectory(at: Self.fixtures, withIntermediateDirectories: true)
            try Data(body).write(to: url)
        }
        let golden = try #require(try Self.golden(sampler: sampler, layout: layout),
                                  "no golden body for layout \(layout): a new layout needs its file (see the suite's comment)")
        #expect(body.count == golden.count)
        #expect(body == golden, "the checkpoint body changed without a new state layout number")
    }

    @Test("every older layout this build reads restores to the state the current layout writes", arguments: samplers)
    func olderLayoutsRestore(sampler: String) throws {
        let current = OnlineRecommender.stateLayoutVersion
        let expected = try #require(try Self.golden(sampler: sampler, layout: current))
        let fixture = CheckpointFuzzTests.Fixture(sampler: sampler)
        var checked = 0
        for layout in OnlineRecommender.readableStateLayouts where layout < current {
            guard let old = try Self.golden(sampler: sampler, layout: layout) else { continue }
            var reader = StateReader(old)
            let restored = try CheckpointBody.decode(from: &reader, layout: layout, makeEngine: fixture.makeEngine)
            let live = LiveState(makeEngine: fixture.makeEngine)
            live.replace(with: restored.engine, userPartitions: restored.userPartitions)
            let rewritten = live.withExclusiveAccess { CheckpointBody.encode(engine: $0, userPartitions: live) }
            #expect(rewritten == expected, "layout \(layout) did not restore to the current layout's state")
            checked += 1
        }
        if current > max(4, Self.firstLayout[sampler] ?? 4) { #expect(checked > 0, "no golden body of an older readable layout") }
    }

    @Test("a body written by CNSDiff version 1 under the name cnsdiff is refused by version 2 with a sentence that says so")
    func versionOneStateIsNotVersionTwo() throws {
        let old = try #require(try Self.golden(sampler: "cnsdiff-v1", layout: 5))
        var reader = StateReader(old)
        let fixture = CheckpointFuzzTests.Fixture(sampler: "cnsdiff")
        #expect {
            _ = try CheckpointBody.decode(from: &reader, layout: 5, makeEngine: fixture.makeEngine)
        } throws: { error in
            "\(error)".contains("CNSDiff version 1") && "\(error)".contains("cnsdiff-v1")
        }
    }
}
