import CSignalPipe
import Foundation
import Kafka
import Logging

/// Turns SIGTERM and SIGINT into a graceful shutdown: the first signal calls `onShutdown` (stop
/// polling, finish the batch, commit, flush, close); if the process is still running after
/// `bound`, or when a second signal arrives, it exits at once with 128 + the signal number.
///
/// The handler is a C `sigaction` that writes to a pipe; a dedicated thread reads the pipe, so no
/// Swift code runs in signal context.
public enum ShutdownSignals {
    public static func install(bound: Duration = .seconds(60), logger: Logger,
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
                        exit(128 + signal)
                    }.start()
                } else {
                    logger.warning("second signal \(signal): exiting immediately")
                    exit(128 + signal)
                }
            }
        }
        watcher.start()
    }
}
