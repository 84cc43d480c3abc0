@testable import CausalRecCore
import Testing

@Suite("Interaction history")
struct InteractionHistoryTests {
    @Test("an item's click count saturates at Int32.max instead of trapping, also after a restore")
    func clickCountSaturates() throws {
        let history = InteractionHistory(tracksImpressions: false)
        history.growUsers(to: 4)
        history.growItems(to: 2)
        history.clickCounts[1] = .max - 1
        for user in Int32(0)..<3 { history.record(user: user, item: 1) }
        #expect(history.clickCounts[1] == .max)
        #expect(history.mostClicked(limit: 1) == [1])

        var writer = StateWriter()
        history.writeState(to: &writer)
        var reader = StateReader(writer.bytes)
        let restored = InteractionHistory(tracksImpressions: false)
        try restored.readState(from: &reader)
        restored.record(user: 3, item: 1)
        #expect(restored.clickCounts[1] == .max)
        restored.clearUser(3)
        #expect(restored.clickCounts[1] == Int32.max - 1)
        // A count never goes below zero, whatever the order of clears.
        restored.clickCounts[1] = 0
        restored.clearUser(0)
        #expect(restored.clickCounts[1] == 0)
    }
}
