@testable import Kafka
import Testing

@Suite("Consumer lifecycle state machine")
struct KafkaConsumerStateMachineTests {
    @Test func pollThenClose() {
        var machine = KafkaConsumerStateMachine()
        #expect(machine.startPoll() == .poll)
        #expect(machine.startPoll() == .throwConcurrentPoll)
        #expect(machine.close() == .throwWhilePolling)
        machine.finishPoll()
        #expect(machine.close() == .close)
        #expect(machine.close() == .alreadyClosed)
        #expect(machine.startPoll() == .throwClosed)
    }
}
