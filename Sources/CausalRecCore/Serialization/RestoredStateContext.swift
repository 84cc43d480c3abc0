/// What the rest of a restored state says, for checks that cross components.
package struct RestoredStateContext {
    package let userCount: Int
    package let itemCount: Int
    /// Sorted free rows (no id).
    package let freeUsers: [Int32]
    package let freeItems: [Int32]
    /// Exposures recorded so far (`ExposureEstimator.recordedCount`).
    package let exposuresRecorded: Int
    package let environmentCount: Int
}
