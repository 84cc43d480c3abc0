/// The gradient check that refuses a step with a non-finite gradient before any row is written
/// (run by each row's owner as soon as its gradient is complete), and phase 3, the optimizer
/// step (see `BPRTrainer`).
extension BPRTrainer {
    /// Every gradient of a user row (`users`) or item row (`items`) this thread owns is finite,
    /// and at most `gradientClipNorm` long (scaled down otherwise). Users are complete after
    /// phase 1, items after phase 2; the findings add up over the batch.
    func checkGradients(owner me: Int, users: Bool, items: Bool) {
        let worker = workers[me]
        let stride = model.stride
        let limit = Self.gradientClipNorm
        var nonFinite = false
        var clipped = 0
        func check(_ gradient: UnsafeMutablePointer<Float>) {
            let squared = VectorKernels.dot(gradient, gradient, length: stride)
            guard squared.isFinite else {
                nonFinite = true
                return
            }
            if squared > limit * limit {
                let scale = limit / squared.squareRoot()
                for index in 0..<stride { gradient[index] *= scale }
                clipped += 1
            }
        }
        if users {
            for slot in worker.userSlots.touched.indices { check(worker.userGradients.row(Int32(slot))) }
        }
        for slot in worker.itemSlots.touched.indices where items {
            check(worker.itemGradients.row(Int32(slot)))
            let bias = worker.biasGradients[slot]
            if !bias.isFinite {
                nonFinite = true
            } else if abs(bias) > limit {
                worker.biasGradients[slot] = bias > 0 ? limit : -limit
            }
        }
        worker.nonFinite = worker.nonFinite || nonFinite
        worker.clipped += clipped
    }

    /// Phase 3: L2 and the optimizer step for every row this thread owns and the batch touched.
    func step(owner me: Int) {
        let worker = workers[me]
        let stride = model.stride
        let users = model.users
        let items = model.items
        let configuration = model.configuration
        let l2 = configuration.l2
        for (slot, row) in worker.userSlots.touched.enumerated() {
            step(row: row, weights: users.row(row), gradient: worker.userGradients.row(Int32(slot)),
                 optimizer: model.userOptimizer, l2: l2, stride: stride)
        }
        for (slot, row) in worker.itemSlots.touched.enumerated() {
            step(row: row, weights: items.row(row), gradient: worker.itemGradients.row(Int32(slot)),
                 optimizer: model.itemOptimizer, l2: l2, stride: stride)
            if configuration.useItemBias {
                model.applyBiasGradient(item: row, gradient: worker.biasGradients[slot] + l2 * model.itemBias[Int(row)])
            }
        }
    }

    @inline(__always)
    private func step(row: Int32, weights: UnsafeMutablePointer<Float>, gradient: UnsafeMutablePointer<Float>,
                      optimizer: SparseAdam, l2: Float, stride: Int)
    {
        switch model.configuration.optimizer {
        case .adam:
            VectorKernels.axpy(l2, weights, gradient, length: stride)
            optimizer.step(row: row, weights: weights, gradient: gradient, stride: stride)
        case .sgd:
            // w ← w − lr·(g + λw) = (1 − lr·λ)·w − lr·g
            let rate = model.configuration.learningRate
            VectorKernels.scaleAndAdd(scale: 1 - rate * l2, weights, alpha: -rate, gradient, length: stride)
        }
    }
}
