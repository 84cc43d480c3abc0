import CausalRecPipeline
import KafkaTestSupport
import Testing

@Suite("The service end to end on the embedded mock cluster")
struct EmbeddedClusterServiceTests {
    @Test("consumes everything, answers every request, dead-letters bad input, resumes without repeats")
    func endToEnd() async throws {
        let cluster = try KafkaClusterConnection(.embedded, logger: TestKafka.logger)
        try await ServiceScenario(cluster: cluster).run()
    }
}
