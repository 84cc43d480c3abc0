/// The tables the recommender owns and its parts read: the embeddings, the interaction history
/// and the exposure estimate (classes, shared by reference; the recommender grows and releases
/// their rows, the training part writes the embeddings).
struct SharedTables {
    let model: MatrixFactorization
    let history: InteractionHistory
    let exposure: ExposureEstimator
}
