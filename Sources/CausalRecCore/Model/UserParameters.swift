/// One user's learned parameters as plain values: the embedding row and its optimizer state
/// (Adam's two moments and the row's β powers; zeros and ones under SGD). Moving these between
/// recommenders moves the user exactly: the next step on the row is the one it would have been.
package struct UserParameters: Sendable, Equatable {
    package var embedding: [Float]
    package var firstMoment: [Float]
    package var secondMoment: [Float]
    package var beta1Power: Float
    package var beta2Power: Float
}

extension MatrixFactorization {
    /// The parameters of user row `row` (the first `dimension` floats of each row).
    package func userParameters(_ row: Int32) -> UserParameters {
        let count = dimension
        return UserParameters(embedding: Array(UnsafeBufferPointer(start: users.row(row), count: count)),
                              firstMoment: Array(UnsafeBufferPointer(start: userOptimizer.firstMoment.row(row), count: count)),
                              secondMoment: Array(UnsafeBufferPointer(start: userOptimizer.secondMoment.row(row), count: count)),
                              beta1Power: userOptimizer.powers.beta1[Int(row)], beta2Power: userOptimizer.powers.beta2[Int(row)])
    }

    /// Sets user row `row` to `parameters` (the padding past `dimension` stays zero).
    package func setUserParameters(_ row: Int32, _ parameters: UserParameters) {
        precondition(parameters.embedding.count == dimension && parameters.firstMoment.count == dimension
            && parameters.secondMoment.count == dimension)
        users.row(row).update(from: parameters.embedding, count: dimension)
        userOptimizer.firstMoment.row(row).update(from: parameters.firstMoment, count: dimension)
        userOptimizer.secondMoment.row(row).update(from: parameters.secondMoment, count: dimension)
        userOptimizer.powers.beta1[Int(row)] = parameters.beta1Power
        userOptimizer.powers.beta2[Int(row)] = parameters.beta2Power
    }
}
