/// Where a generative sampler writes what it synthesises: for example i, a vector in the item
/// embedding space (row i, `stride` floats apart) and the mixing weight λ_i of the negative
/// z_i = λ_i·g_i + (1 − λ_i)·q_j with the real negative j (λ_i = 0: j alone).
public struct SyntheticNegatives {
    public let vectors: UnsafeMutablePointer<Float>
    public let stride: Int
    public let mix: UnsafeMutablePointer<Float>

    public init(vectors: UnsafeMutablePointer<Float>, stride: Int, mix: UnsafeMutablePointer<Float>) {
        self.vectors = vectors
        self.stride = stride
        self.mix = mix
    }
}

/// A sampler that also generates negatives in the embedding space and learns from the stream.
public protocol GenerativeNegativeSampler: NegativeSampler {
    /// Learns from a batch of positives before negatives are drawn for it (called once per batch,
    /// serially, with the recommender's generator).
    mutating func learn(from positives: UnsafeBufferPointer<PositiveExample>, context: SamplingContext,
                        random: inout Xoshiro256)

    /// Draws a real negative per positive into `negatives` and fills `synthetic` for the same
    /// positives. May run on copies of the sampler in parallel (see `prepare`).
    mutating func sampleNegatives(for positives: UnsafeBufferPointer<PositiveExample>,
                                  into negatives: UnsafeMutableBufferPointer<Int32>,
                                  synthetic: SyntheticNegatives,
                                  context: SamplingContext, random: inout Xoshiro256)

    /// Version of the generator snapshot in use (0 before the first).
    var generatorVersion: Int { get }
}
