import CausalRecCore
@testable import CausalRecPipeline
import Foundation
import Logging
import Testing

@Suite("HTTP routes")
struct HTTPRoutesTests {
    static func routes() -> (HTTPRoutes, LiveState, ServiceStatus) {
        let live = LiveState(configuration: RecommenderConfiguration())
        live.withExclusiveAccess { recommender in
            for item in ["a", "b", "c"] {
                recommender.step(.impression(Impression(user: "u1", items: [item], timestamp: 1_700_000_000_000)), fallbackTimestamp: 0)
            }
            let click = recommender.step(.click(Click(user: "u1", item: "a", timestamp: 1_700_000_000_001)), fallbackTimestamp: 0)
            live.noteUserPartition(row: click.userRow!, partition: 2)
        }
        let status = ServiceStatus()
        return (HTTPRoutes(metrics: ServiceMetrics(), status: status, live: live, maxK: 1_000, samplerName: "random"), live, status)
    }

    static func json(_ reply: HTTPReply) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(reply.body)) as? [String: Any]) ?? [:]
    }

    @Test("recommendations for an owned user, 421 for a user another instance owns, 400 and 404 and 405")
    func recommendations() {
        let (routes, live, _) = Self.routes()
        live.setAssigned([2])
        let owned = routes.reply(method: "GET", uri: "/recommendations?user=u1&k=2")
        #expect(owned.status == 200)
        let items = Self.json(owned)["items"] as? [[String: Any]]
        #expect(items?.count == 2 && items?.allSatisfy { $0["item"] as? String != "a" } == true, "the clicked item is left out")
        live.setAssigned([0, 1])
        let elsewhere = routes.reply(method: "GET", uri: "/recommendations?user=u1")
        #expect(elsewhere.status == 421)
        #expect((Self.json(elsewhere)["error"] as? String)?.contains("partition 2") == true)
        // A user never seen gets the most exposed items, wherever they would be routed.
        #expect(routes.reply(method: "GET", uri: "/recommendations?user=new").status == 200)
        #expect(routes.reply(method: "GET", uri: "/recommendations?user=u1&k=abc").status == 400)
        #expect(routes.reply(method: "GET", uri: "/recommendations?user=u1&k=1001").status == 400)
        #expect(routes.reply(method: "GET", uri: "/nowhere").status == 404)
        #expect(routes.reply(method: "POST", uri: "/metrics").status == 405)
    }

    @Test("/ready says why it is not ready")
    func readiness() {
        let (routes, _, status) = Self.routes()
        status.update { $0.assignedPartitions = 0 }
        let notAssigned = routes.reply(method: "GET", uri: "/ready")
        #expect(notAssigned.status == 503)
        #expect(Self.json(notAssigned)["reason"] as? String == "no partitions assigned yet")
        status.update {
            $0.assignedPartitions = 3
            $0.brokerReachable = false
            $0.brokerProblem = "connection refused"
        }
        #expect(Self.json(routes.reply(method: "GET", uri: "/ready"))["reason"] as? String == "broker unreachable: connection refused")
        status.update {
            $0.brokerReachable = true
            $0.checkpointsEnabled = true
            $0.messagesSinceCheckpoint = 10
            $0.lastCheckpointSeconds = status.nowSeconds - 1_000
        }
        #expect((Self.json(routes.reply(method: "GET", uri: "/ready"))["reason"] as? String)?.hasPrefix("the last checkpoint is") == true)
        status.update { $0.lastCheckpointSeconds = status.nowSeconds }
        #expect(routes.reply(method: "GET", uri: "/ready").status == 200)
        #expect(routes.reply(method: "GET", uri: "/health").status == 200)
    }

    @Test("the largest k a query may ask for is the request limit (1000), not the slate limit")
    func queryLimitIsTheRequestLimit() throws {
        var configuration = PipelineConfiguration()
        configuration.events.maxSlateItems = 5
        let service = RecommenderService(configuration: configuration, bootstrapServers: "127.0.0.1:1", options: RunOptions(),
                                             logger: Logger(label: "routes"))
        let routes = service.makeRoutes()
        #expect(routes.reply(method: "GET", uri: "/recommendations?user=u1&k=20").status == 200)
        #expect(routes.reply(method: "GET", uri: "/recommendations?user=u1&k=1000").status == 200)
        #expect(routes.reply(method: "GET", uri: "/recommendations?user=u1&k=1001").status == 400)
    }
}
