import CausalRecCore
import Synchronization

/// What `/health` and `/ready` report, updated by the event loop and read by the HTTP server.
package final class ServiceStatus: Sendable {
    package struct Snapshot: Sendable, Equatable {
        package var assignedPartitions = 0
        package var brokerReachable = true
        package var brokerProblem: String?
        package var checkpointsEnabled = false
        /// Monotonic seconds (since process start) of the last checkpoint written or restored,
        /// or of the start when there is none yet.
        package var lastCheckpointSeconds = 0.0
        package var messagesSinceCheckpoint = 0
        package var maxCheckpointAgeSeconds = 300.0
        package var stopping = false
        /// Set while the latest training step was refused (a non-finite gradient): the model
        /// answers, but no longer learns from the stream.
        package var trainingProblem: String?
        /// Said by `/ready` while it is ready: e.g. a row table near its limit, where the least
        /// recently seen users or items are being evicted.
        package var warnings: [String] = []

        /// Why the service is not ready, or nil when it is.
        package func notReadyReason(nowSeconds: Double) -> String? {
            if stopping { return "stopping" }
            if !brokerReachable { return "broker unreachable: \(brokerProblem ?? "no response")" }
            if assignedPartitions == 0 { return "no partitions assigned yet" }
            if let trainingProblem { return trainingProblem }
            if checkpointsEnabled && messagesSinceCheckpoint > 0 && nowSeconds - lastCheckpointSeconds > maxCheckpointAgeSeconds {
                return "the last checkpoint is \(Int(nowSeconds - lastCheckpointSeconds)) s old"
            }
            return nil
        }
    }

    private let state = Mutex(Snapshot())
    private let started = ContinuousClock.now

    package init() {}

    package var snapshot: Snapshot { state.withLock { $0 } }

    package func update(_ body: (inout Snapshot) -> Void) {
        state.withLock { body(&$0) }
    }

    /// Seconds since this status was created (a monotonic clock).
    package var nowSeconds: Double {
        let elapsed = ContinuousClock.now - started
        return elapsed.inSeconds
    }
}
