/// Which input a checkpoint belongs to. State learned from one topic or group must not be
/// continued on another, and its offsets mean nothing on another cluster.
public struct CheckpointIdentity: Sendable, Equatable, Codable {
    /// Bootstrap servers as configured (sorted), for display and for clusters without an id.
    public var brokers: [String]
    /// The cluster id the brokers reported, when they did. Preferred over `brokers`, which may
    /// legitimately change (a broker added to the list) for the same cluster.
    public var clusterID: String?
    public var topic: String
    public var group: String

    public init(brokers: [String], clusterID: String?, topic: String, group: String) {
        self.brokers = brokers.sorted()
        self.clusterID = clusterID
        self.topic = topic
        self.group = group
    }

    /// Why a checkpoint written for `other` must not be restored here, or nil when it may.
    public func mismatch(with other: CheckpointIdentity) -> String? {
        if other.topic != topic { return "it was written for topic '\(other.topic)', this run reads '\(topic)'" }
        if other.group != group { return "it was written for group '\(other.group)', this run is '\(group)'" }
        if let mine = clusterID, let theirs = other.clusterID {
            return mine == theirs ? nil : "it was written for cluster \(theirs), these brokers are cluster \(mine)"
        }
        if other.brokers != brokers {
            return "it was written for brokers \(other.brokers.joined(separator: ",")), this run uses \(brokers.joined(separator: ","))"
        }
        return nil
    }
}
