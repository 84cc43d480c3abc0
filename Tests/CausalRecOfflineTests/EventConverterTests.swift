@testable import CausalRecOffline
import Foundation
import Testing

@Suite("Converting public logs to events")
struct EventConverterTests {
    @Test("OBD timestamps become epoch milliseconds")
    func isoTimestamps() {
        #expect(EventConverter.parseISOTimestamp("2019-11-24 00:00:34.762830+00:00") == 1_574_553_634_762)
        #expect(EventConverter.parseISOTimestamp("1970-01-01 01:00:00+01:00") == 0)
        #expect(EventConverter.parseISOTimestamp("2019-11-24") == nil)
    }

    @Test("MovieLens ratings: every rating an impression, rating ≥ 4 also a click; a bad row is skipped and counted")
    func movieLens() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("ratings-\(UUID().uuidString).csv").path
        try "userId,movieId,rating,timestamp\n1,31,2.5,1260759144\n1,1029,4.0,1260759179\nbroken\n".write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        var lines: [String] = []
        let counts = try EventConverter.convert(.movielens, input: path) { lines.append(String(decoding: $0, as: UTF8.self)) }
        #expect(counts == EventConverter.Counts(rows: 3, impressions: 2, clicks: 1, skipped: 1))
        #expect(lines == [
            #"{"type":"impression","user":"u1","item":"m31","ts":1260759144000}"#,
            #"{"type":"impression","user":"u1","item":"m1029","ts":1260759179000}"#,
            #"{"type":"click","user":"u1","item":"m1029","ts":1260759179000}"#,
        ])
    }

    @Test("Open Bandit rows: an impression at its position, click = 1 also a click, the user from the hashed features")
    func openBandit() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("obd-\(UUID().uuidString).csv").path
        try """
        ,timestamp,item_id,position,click,propensity_score,user_feature_0,user_feature_1,user_feature_2,user_feature_3,user-item_affinity_0
        0,2019-11-24 00:00:34.762830+00:00,14,3,0,0.0125,81ce123cbb5bd8ce,03a5648a76832f83,c2e4f76cdbabecd3,f97571b9c14a786a,0.0
        1,2019-11-24 00:00:35.000000+00:00,7,1,1,0.0125,81ce123cbb5bd8ce,03a5648a76832f83,c2e4f76cdbabecd3,f97571b9c14a786a,0.0
        2,not a time,7,1,1,0.0125,a,b,c,d,0.0

        """.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        var lines: [String] = []
        let counts = try EventConverter.convert(.obd, input: path) { lines.append(String(decoding: $0, as: UTF8.self)) }
        #expect(counts == EventConverter.Counts(rows: 3, impressions: 2, clicks: 1, skipped: 1))
        #expect(lines == [
            #"{"type":"impression","user":"f81ce123c-03a5648a-c2e4f76c-f97571b9","item":"i14","position":3,"ts":1574553634762}"#,
            #"{"type":"impression","user":"f81ce123c-03a5648a-c2e4f76c-f97571b9","item":"i7","position":1,"ts":1574553635000}"#,
            #"{"type":"click","user":"f81ce123c-03a5648a-c2e4f76c-f97571b9","item":"i7","ts":1574553635000}"#,
        ])
    }
}
