/// Notes a sampler writes about the candidates it scored while it draws a batch, and reads back
/// once the whole batch is drawn (`NegativeSampler.absorb`). Drawing runs in parallel chunks on
/// copies of the sampler, which must not change shared state; the notes let a sampler with a
/// memory learn from its own draws anyway, serially and in positive order, so what it remembers
/// does not depend on the thread count.
package struct NegativeObservations {
    /// `perPositive` slots per positive: an item row (−1 = unused) and the value seen for it.
    package let items: UnsafeMutablePointer<Int32>
    package let values: UnsafeMutablePointer<Float>
    package let perPositive: Int

    package init(items: UnsafeMutablePointer<Int32>, values: UnsafeMutablePointer<Float>, perPositive: Int) {
        self.items = items
        self.values = values
        self.perPositive = perPositive
    }

    /// The slots from positive `first` on (a chunk's view).
    package func starting(at first: Int) -> NegativeObservations {
        NegativeObservations(items: items + first * perPositive, values: values + first * perPositive, perPositive: perPositive)
    }

    /// Marks every slot of `count` positives unused.
    package func clear(count: Int) {
        items.update(repeating: -1, count: count * perPositive)
    }
}
