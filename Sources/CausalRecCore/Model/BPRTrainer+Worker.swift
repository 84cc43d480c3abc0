extension BPRTrainer {
    /// Scratch state of one thread.
    final class Worker {
        var userSlots = SlotMap()
        var itemSlots = SlotMap()
        let userGradients: EmbeddingTable
        let itemGradients: EmbeddingTable
        var biasGradients: [Float] = []
        /// The mixed negative of the example being processed.
        let mixed: UnsafeMutablePointer<Float>
        /// Phase-1 losses of the sampled examples this thread owns, by example.
        var lossSamples: [(example: Int32, loss: Double)] = []
        /// Set by the check phase: a touched row's gradient is not finite.
        var nonFinite = false
        var clipped = 0

        init(dimension: Int) {
            userGradients = EmbeddingTable(dimension: dimension, initialCapacity: 256)
            itemGradients = EmbeddingTable(dimension: dimension, initialCapacity: 512)
            let stride = (dimension + 7) & ~7
            let raw = UnsafeMutableRawPointer.allocate(byteCount: stride * MemoryLayout<Float>.stride, alignment: 64)
            mixed = raw.bindMemory(to: Float.self, capacity: stride)
            mixed.initialize(repeating: 0, count: stride)
        }

        deinit {
            mixed.deallocate()
        }
    }
}
