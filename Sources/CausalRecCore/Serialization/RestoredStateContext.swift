/// What the rest of a restored state says, for checks that cross components.
public struct RestoredStateContext {
    public let userCount: Int
    public let itemCount: Int
    /// Sorted free rows (no id).
    public let freeUsers: [Int32]
    public let freeItems: [Int32]
    /// Exposures recorded so far (`ExposureEstimator.recordedCount`).
    public let exposuresRecorded: Int
    public let environmentCount: Int
}
