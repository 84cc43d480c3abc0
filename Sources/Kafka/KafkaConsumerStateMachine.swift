/// The consumer's lifecycle. Methods return what the consumer must do, so every transition can be
/// tested without a broker.
struct KafkaConsumerStateMachine: Sendable {
    enum State: Sendable, Equatable {
        case idle
        case polling
        case closed
    }

    enum PollAction: Equatable {
        case poll
        case throwClosed
        case throwConcurrentPoll
    }

    enum CloseAction: Equatable {
        case close
        case alreadyClosed
        case throwWhilePolling
    }

    private(set) var state: State = .idle

    mutating func startPoll() -> PollAction {
        switch state {
        case .idle:
            state = .polling
            return .poll
        case .polling:
            return .throwConcurrentPoll
        case .closed:
            return .throwClosed
        }
    }

    mutating func finishPoll() {
        if state == .polling { state = .idle }
    }

    mutating func close() -> CloseAction {
        switch state {
        case .idle:
            state = .closed
            return .close
        case .polling:
            return .throwWhilePolling
        case .closed:
            return .alreadyClosed
        }
    }
}
