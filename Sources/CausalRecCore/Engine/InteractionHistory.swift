/// Which items each user clicked, and how often each item was clicked. Samplers use it to avoid
/// drawing a user's positives as negatives; ranking uses it to leave clicked items out.
public final class InteractionHistory {
    public private(set) var clickedByUser: [Set<Int32>] = []
    public private(set) var clickCounts: [Int32] = []
    public private(set) var totalClicks: Int = 0

    public init() {}

    public func growUsers(to count: Int) {
        if clickedByUser.count < count {
            clickedByUser.append(contentsOf: repeatElement([], count: count - clickedByUser.count))
        }
    }

    public func growItems(to count: Int) {
        if clickCounts.count < count {
            clickCounts.append(contentsOf: repeatElement(0, count: count - clickCounts.count))
        }
    }

    /// Records a click; returns false when the user had clicked the item before.
    @discardableResult
    public func record(user: Int32, item: Int32) -> Bool {
        clickCounts[Int(item)] += 1
        totalClicks += 1
        return clickedByUser[Int(user)].insert(item).inserted
    }

    @inline(__always)
    public func hasClicked(user: Int32, item: Int32) -> Bool {
        Int(user) < clickedByUser.count && clickedByUser[Int(user)].contains(item)
    }

    public func clicked(by user: Int32) -> Set<Int32> {
        Int(user) < clickedByUser.count ? clickedByUser[Int(user)] : []
    }

    /// The `limit` most clicked items (ties: lower row first).
    public func mostClicked(limit: Int) -> [Int32] {
        var selector = TopKSelector<Int32>(capacity: limit)
        for index in clickCounts.indices where clickCounts[index] > 0 {
            selector.offer(score: clickCounts[index], item: Int32(index))
        }
        return selector.sortedDescending().map(\.item)
    }
}
