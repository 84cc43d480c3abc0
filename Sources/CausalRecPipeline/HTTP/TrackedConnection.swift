import NIOCore

/// One accepted connection as `ConnectionTable` sees it. Lives on the endpoint's event loop
/// (created, read and changed only there), so it needs no lock.
final class TrackedConnection {
    /// Where the connection is in its current request.
    enum Phase {
        /// Bytes of a request (or, right after accept, nothing yet) are awaited under the request deadline.
        case receiving
        /// The request is complete and its answer not yet written: not idle, never evicted.
        case handling
        /// Kept alive between requests: only the idle timeout applies.
        case waiting
    }

    /// Which place it holds.
    enum Place: Equatable {
        case regular
        /// Beyond a cap: a probe is answered (and the connection closed); anything else is
        /// promoted into a regular place, or refused.
        case reserved(ConnectionRefusal)
    }

    let channel: any Channel
    /// The remote address, without the port (all connections of one host share a cap).
    let peer: String
    let accepted: NIODeadline
    var place: Place
    var phase: Phase = .receiving
    /// Last byte read or answer written: "longest idle" at the cap is the smallest.
    var lastActivity: NIODeadline
    /// Counts requests, so a deadline that fires late can tell whether its request is still the current one.
    var request = 0

    init(channel: any Channel, peer: String, place: Place, now: NIODeadline) {
        self.channel = channel
        self.peer = peer
        self.place = place
        accepted = now
        lastActivity = now
    }

    var isReserved: Bool { place != .regular }
}
