import CausalRecCore
import Metrics

extension Metrics.Timer {
    func record(_ duration: Duration) {
        recordNanoseconds(duration.inNanoseconds)
    }
}
