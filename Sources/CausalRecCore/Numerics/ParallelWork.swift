#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
#if canImport(Dispatch)
import Dispatch
#endif
import Synchronization

/// Fork-join over a fixed number of parts. Callers split work so that parts touch disjoint
/// memory and combine results in part order, which keeps results independent of scheduling.
///
/// Training runs three fork-joins per batch, so their latency matters: waking a Dispatch worker
/// costs tens of microseconds, a large share of a ~0.6 ms batch. Two-part work therefore goes to
/// one persistent helper thread that spins briefly before sleeping; anything else (more parts, or
/// the helper already busy with another caller) uses `DispatchQueue.concurrentPerform`.
package enum ParallelWork {
    package static func run(parts: Int, _ body: (Int) -> Void) {
        guard parts > 1 else {
            body(0)
            return
        }
        if parts == 2, HelperThread.shared.tryRun(body) { return }
        #if canImport(Dispatch)
        withoutActuallyEscaping(body) { escapable in
            let shared = UncheckedSendableBox(escapable)
            DispatchQueue.concurrentPerform(iterations: parts) { shared.value($0) }
        }
        #else
        for part in 0..<parts { body(part) }
        #endif
    }
}

/// One long-lived thread that runs part 1 of a two-part fork-join while the caller runs part 0.
final class HelperThread: @unchecked Sendable {
    static let shared = HelperThread()

    private let busy = Atomic<Bool>(false)
    /// Bumped to hand over work; the helper runs a job whenever it sees a new generation.
    private let generation = Atomic<Int>(0)
    private let done = Atomic<Int>(0)
    private var job: UncheckedSendableBox<(Int) -> Void>?
    // Heap-allocated: pthread objects must not move, which a stored property does not promise.
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var sleeping = false

    private init() {
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(condition, nil)
        var thread = pthread_t()
        let context = Unmanaged.passRetained(self).toOpaque()
        pthread_create(&thread, nil, { context in
            let helper = Unmanaged<HelperThread>.fromOpaque(context!).takeUnretainedValue()
            helper.loop()
            return nil
        }, context)
        pthread_detach(thread)
    }

    /// Runs `body(0)` here and `body(1)` on the helper; false if another caller holds the helper.
    func tryRun(_ body: (Int) -> Void) -> Bool {
        guard busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else { return false }
        defer { busy.store(false, ordering: .releasing) }
        return withoutActuallyEscaping(body) { escapable in
            job = UncheckedSendableBox(escapable)
            let target = generation.load(ordering: .relaxed) + 1
            pthread_mutex_lock(mutex)
            generation.store(target, ordering: .releasing)
            if sleeping { pthread_cond_signal(condition) }
            pthread_mutex_unlock(mutex)
            escapable(0)
            var spins = 0
            while done.load(ordering: .acquiring) != target {
                spins += 1
                if spins > 1_000 { sched_yield() }
            }
            job = nil
            return true
        }
    }

    private func loop() {
        var seen = 0
        while true {
            var spins = 0
            while generation.load(ordering: .acquiring) == seen {
                spins += 1
                if spins > 200_000 {
                    // Idle for a while: sleep until the next hand-over.
                    pthread_mutex_lock(mutex)
                    sleeping = true
                    while generation.load(ordering: .acquiring) == seen {
                        pthread_cond_wait(condition, mutex)
                    }
                    sleeping = false
                    pthread_mutex_unlock(mutex)
                    break
                }
            }
            seen = generation.load(ordering: .acquiring)
            job?.value(1)
            done.store(seen, ordering: .releasing)
        }
    }
}

/// Hands a value to concurrent code whose safety is argued at the use site.
struct UncheckedSendableBox<Value>: @unchecked Sendable {
    let value: Value

    init(_ value: Value) {
        self.value = value
    }
}
