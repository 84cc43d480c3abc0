/// Where a generative sampler writes what it synthesises: for example i, a vector in the item
/// embedding space (row i, `stride` floats apart) and the mixing weight λ_i of the negative
/// z_i = λ_i·g_i + (1 − λ_i)·q_j with the real negative j (λ_i = 0: j alone).
package struct SyntheticNegatives {
    package let vectors: UnsafeMutablePointer<Float>
    package let stride: Int
    package let mix: UnsafeMutablePointer<Float>

    package init(vectors: UnsafeMutablePointer<Float>, stride: Int, mix: UnsafeMutablePointer<Float>) {
        self.vectors = vectors
        self.stride = stride
        self.mix = mix
    }
}
