/// The extra terms of `cnsdiff` (version 2) in a training batch: for example i whose user has
/// generated negatives g_1…g_K (`slots[i]` ≥ 0), the loss adds
/// Σ_k −weight·log σ(x_ui − ⟨p_u, g_k⟩), skipping (with `filter`) any g_k that scores as high as
/// the positive. Only the user's row moves: the generated vectors are fixed targets and the
/// positive's row is trained by the example's own BPR term.
package struct GeneratedTerms {
    /// Vector k of slot s starts at vectors + (s·perUser + k)·stride.
    package let vectors: UnsafePointer<Float>
    package let slots: UnsafePointer<Int32>
    package let perUser: Int
    package let weight: Float
    package let filter: Bool

    package init(vectors: UnsafePointer<Float>, slots: UnsafePointer<Int32>, perUser: Int, weight: Float, filter: Bool) {
        self.vectors = vectors
        self.slots = slots
        self.perUser = perUser
        self.weight = weight
        self.filter = filter
    }

    /// Adds example `index`'s terms to the user's gradient row; `positiveScore` is x_ui.
    @inline(__always)
    func accumulate(example index: Int, p: UnsafePointer<Float>, qi: UnsafePointer<Float>, positiveScore: Float,
                    into gradient: UnsafeMutablePointer<Float>, stride: Int)
    {
        let slot = slots[index]
        guard slot >= 0 else { return }
        for k in 0..<perUser {
            let g = vectors + (Int(slot) &* perUser &+ k) &* stride
            let score = VectorKernels.dot(p, g, length: stride)
            if filter && score >= positiveScore { continue }
            // ∂/∂p of −w·log σ(x_ui − x_ug) = −w·σ(−(x_ui − x_ug))·(q_i − g)
            VectorKernels.axpyDifference(-weight * sigmoid(score - positiveScore), qi, g, gradient, length: stride)
        }
    }
}
