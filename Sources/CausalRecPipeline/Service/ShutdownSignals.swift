import CSignalPipe
import Foundation
import Kafka
import Logging

/// Turns SIGTERM and SIGINT into a graceful shutdown: the first signal calls `onShutdown` (stop
/// polling, finish the batch, commit, flush, close — its waits share one `ShutdownBudget`); if
/// the process is still running after `hardBound`, or when a second signal arrives, it ends at
/// once with 128 + the signal number.
///
/// The handler is a C `sigaction` that writes to a pipe; a dedicated thread reads the pipe, so no
/// Swift code runs in signal context. The forced end is `_exit`, not `exit`: `exit` would run
/// atexit handlers and static destructors while librdkafka's and the event loop's threads still
/// use what they tear down (a crash or a hang instead of an exit). Nothing is lost by skipping
/// them: checkpoints are complete files or absent, and what was not committed is read again.
public enum ShutdownSignals {
    /// From the first signal to the forced end.
    public static let hardBound = Duration.seconds(60)

    public static func install(bound: Duration = hardBound, logger: Logger,
                               onShutdown: @escaping @Sendable (_ signal: Int32) -> Void) throws
    {
        var descriptors: [Int32] = [0, 0]
        guard pipe(&descriptors) == 0 else {
            throw KafkaError(kind: .configuration, message: "cannot create the signal pipe: \(String(cString: strerror(errno)))")
        }
        let readEnd = descriptors[0]
        let signals: [Int32] = [SIGTERM, SIGINT]
        let installed = signals.withUnsafeBufferPointer { buffer in
            causalrec_install_signal_pipe(descriptors[1], buffer.baseAddress, Int32(buffer.count))
        }
        guard installed == 0 else {
            throw KafkaError(kind: .configuration, message: "cannot install signal handlers: \(String(cString: strerror(errno)))")
        }
        let watcher = DedicatedThread(name: "causalrec-signals") {
            var received = 0
            var byte: UInt8 = 0
            while read(readEnd, &byte, 1) == 1 {
                received += 1
                let signal = Int32(byte)
                if received == 1 {
                    logger.info("received signal \(signal): finishing the current batch, committing and closing")
                    onShutdown(signal)
                    let deadline = bound
                    DedicatedThread(name: "causalrec-shutdown-bound") {
                        Thread.sleep(forTimeInterval: Double(deadline.components.seconds))
                        logger.error("shutdown did not finish within \(deadline); exiting without waiting further")
                        fflush(nil)
                        _exit(128 + signal)
                    }.start()
                } else {
                    logger.warning("second signal \(signal): exiting immediately")
                    fflush(nil)
                    _exit(128 + signal)
                }
            }
        }
        watcher.start()
    }
}
