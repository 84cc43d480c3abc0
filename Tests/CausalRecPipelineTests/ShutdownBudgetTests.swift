@testable import CausalRecPipeline
import Synchronization
import CausalRecTestSupport
import Testing

@Suite("Shutdown budget")
struct ShutdownBudgetTests {
    @Test("waits that each take their whole timeout end within the budget, and below the signal's hard bound")
    func waitsShareOneDeadline() {
        let clock = ManualClock()
        let budget = ShutdownBudget(now: { clock.now })
        // Final checkpoint flush, revoke checkpoint, revoke commit, output flush, producer close:
        // 30 + 5 + 10 + 30 + 30 = 105 s on their own timeouts.
        var granted: [Duration] = []
        for own in [Duration.seconds(30), .seconds(5), .seconds(10), .seconds(30), .seconds(30)] {
            let wait = budget.timeout(atMost: own)
            granted.append(wait)
            clock.advance(wait)
        }
        #expect(granted == [.seconds(30), .seconds(5), .seconds(10), .zero, .zero])
        #expect(clock.now - clock.start == ShutdownBudget.standard)
        #expect(budget.isSpent)
        #expect(ShutdownBudget.standard < ShutdownSignals.hardBound)
    }

    @Test("a short wait keeps its own timeout")
    func shortWait() {
        let clock = ManualClock()
        let budget = ShutdownBudget(.seconds(10), now: { clock.now })
        #expect(budget.timeout(atMost: .milliseconds(200)) == .milliseconds(200))
        clock.advance(.seconds(9))
        #expect(budget.timeout(atMost: .seconds(5)) == .seconds(1))
        #expect(!budget.isSpent)
    }
}
