import Kafka
import Logging

/// Whether the broker can be reached, as `/ready` and `causalrec_broker_up` report it: set from
/// consumer errors, from a quiet consumer's metadata probe, from a flush that timed out, and back
/// when traffic flows. Logs each change once.
final class BrokerHealth {
    let status: ServiceStatus
    private let metrics: ServiceMetrics
    private let logger: Logger

    init(status: ServiceStatus, metrics: ServiceMetrics, logger: Logger) {
        self.status = status
        self.metrics = metrics
        self.logger = logger
    }

    var isReachable: Bool { status.snapshot.brokerReachable }

    func markUnreachable(_ problem: String) {
        let wasReachable = status.snapshot.brokerReachable
        status.update {
            $0.brokerReachable = false
            $0.brokerProblem = problem
        }
        metrics.brokerUp.record(0)
        if wasReachable { logger.warning("broker unreachable, librdkafka keeps retrying: \(problem)") }
    }

    func markReachable() {
        guard !status.snapshot.brokerReachable else { return }
        status.update {
            $0.brokerReachable = true
            $0.brokerProblem = nil
        }
        metrics.brokerUp.record(1)
        logger.info("broker reachable again")
    }

    /// A consumer error: unreachable for connectivity problems, else only a log line.
    func note(_ error: KafkaError) {
        if error.isConnectivityProblem {
            markUnreachable(error.message)
        } else {
            logger.warning("consumer: \(error.message)")
        }
    }
}
