/// The latent negatives of `cnsdiff` (version 2), generated once per user and denoiser snapshot:
/// from pure noise, conditioned on the user's embedding and an exposure environment, a DDIM chain
/// runs through the configured stops and keeps its state at each (docs/method.md, "CNSDiff").
///
/// Generation happens in `refresh`, serially, once per batch, for the batch's users whose vectors
/// are older than the snapshot — batched over those users as matrix products. Training reads the
/// vectors through `slots` and never changes them, so parallel chunks need no lock and the
/// results do not depend on the thread count.
package final class GeneratedNegatives {
    /// Vectors kept per user (one per stop).
    package let perUser: Int
    /// Floats from one vector to the next (the model's row stride).
    package let stride: Int
    /// Snapshot version the held vectors came from; a newer snapshot invalidates them all.
    package private(set) var version = -1
    /// Row of each user's vectors in `storage` (users generated since the last snapshot).
    private var slots: [Int32: Int32] = [:]
    private var users: [Int32] = []
    private var storage: [Float] = []
    /// P(E) over items (not over clicks: a backdoor adjustment needs the marginal), recomputed
    /// with each snapshot.
    package private(set) var environmentShares: [Double] = []
    private var network: DenoiserNetwork?
    /// With `cnsdiff-exposure`: the real items nearest each user's vectors.
    package let substitutes: SubstituteItems?
    private var scores: [Float] = []

    package init(perUser: Int, stride: Int, substitutes: SubstituteItems? = nil) {
        self.perUser = perUser
        self.stride = stride
        self.substitutes = substitutes
    }

    package var userCount: Int { users.count }

    /// The slot of `user`'s vectors, or −1 when it has none.
    package func slot(of user: Int32) -> Int32 { slots[user] ?? -1 }

    /// A copy of the first `count` floats of vector `k` of slot `slot` (reports and tests).
    package func values(slot: Int32, _ k: Int, count: Int) -> [Float] {
        let start = (Int(slot) * perUser + k) * stride
        return Array(storage[start..<(start + count)])
    }

    /// Calls `body` with the storage's base address (valid for the call only).
    package func withVectors<T>(_ body: (UnsafePointer<Float>) throws -> T) rethrows -> T {
        try storage.withUnsafeBufferPointer { try body($0.baseAddress ?? UnsafePointer(bitPattern: 16)!) }
    }

    /// Generates vectors for the users of `positives` that have none from `snapshot`. Each user's
    /// environment is drawn from `environmentShares` (the intervention) or, without it, is the
    /// environment of the user's first positive in the batch.
    package func refresh(for positives: UnsafeBufferPointer<PositiveExample>, snapshot: DenoiserSnapshot,
                         layout: DenoiserLayout, context: SamplingContext, random: inout Xoshiro256)
    {
        let model = context.model
        let exposure = context.exposure
        if snapshot.version != version {
            version = snapshot.version
            slots.removeAll(keepingCapacity: true)
            users.removeAll(keepingCapacity: true)
            substitutes?.removeAll()
            environmentShares = Self.shares(exposure, items: model.itemCount, environments: layout.environments)
        } else if environmentShares.isEmpty {
            environmentShares = Self.shares(exposure, items: model.itemCount, environments: layout.environments)
        }
        var fresh: [Int32] = []
        var environments: [Int] = []
        for positive in positives where slots[positive.user] == nil {
            slots[positive.user] = Int32(users.count + fresh.count)
            fresh.append(positive.user)
            environments.append(snapshot.configuration.intervention ? NegativeGenerator.draw(environmentShares, &random)
                                : exposure.environment(of: positive.item))
        }
        guard !fresh.isEmpty else { return }
        let needed = (users.count + fresh.count) * perUser * stride
        if storage.count < needed { storage.append(contentsOf: repeatElement(0, count: max(needed, 2 * storage.count) - storage.count)) }
        let network: DenoiserNetwork
        if let existing = self.network, existing.capacity >= fresh.count {
            network = existing
        } else {
            network = DenoiserNetwork(layout: layout, activation: snapshot.configuration.activation,
                                      steps: snapshot.configuration.steps, capacity: max(fresh.count, 1_024))
            self.network = network
        }
        let first = users.count
        users.append(contentsOf: fresh)
        storage.withUnsafeMutableBufferPointer { buffer in
            Self.generate(users: fresh, environments: environments, into: buffer.baseAddress! + first * perUser * stride,
                          stride: stride, perUser: perUser, snapshot: snapshot, network: network, model: model, random: &random)
        }
        if let substitutes {
            let halfNorms = (0..<model.itemCount).map { item -> Float in
                let row = model.items.row(Int32(item))
                return 0.5 * VectorKernels.dot(row, row, length: stride)
            }
            storage.withUnsafeBufferPointer { buffer in
                // Only users who will draw them: the others have shown items enough of their own.
                for (offset, user) in fresh.enumerated()
                    where context.history.withImpressedNotClicked(by: user, { $0.count }) < SubstituteItems.belowShown
                {
                    let base = buffer.baseAddress! + (first + offset) * perUser * stride
                    let vectors = (0..<perUser).map { base + $0 * stride }
                    substitutes.set(SubstituteItems.nearest(to: vectors, user: user, context: context, halfNorms: halfNorms,
                                                            scores: &scores), for: user)
                }
            }
        }
    }

    /// Shares of the item rows in each exposure environment (uniform when there are none).
    static func shares(_ exposure: ExposureEstimator, items: Int, environments: Int) -> [Double] {
        let count = max(1, environments)
        var counts = [Double](repeating: 0, count: count)
        for item in 0..<items { counts[min(exposure.environment(of: Int32(item)), count - 1)] += 1 }
        let total = counts.reduce(0, +)
        return total > 0 ? counts.map { $0 / total } : [Double](repeating: 1 / Double(count), count: count)
    }

    /// The DDIM chain (η = 0) from pure noise at steps − 1 through the stops, for all `users`
    /// at once; the state at each stop (or its denoised estimate, with `keepDenoised`) is written
    /// in embedding scale.
    static func generate(users: [Int32], environments: [Int], into output: UnsafeMutablePointer<Float>, stride: Int,
                         perUser: Int, snapshot: DenoiserSnapshot, network: DenoiserNetwork, model: MatrixFactorization,
                         random: inout Xoshiro256)
    {
        let configuration = snapshot.configuration
        let schedule = snapshot.schedule
        let dimension = model.dimension
        let rows = users.count
        var noise = [Float](repeating: 0, count: dimension)
        var user = [Float](repeating: 0, count: dimension)
        let start = configuration.steps - 1
        for (row, userRow) in users.enumerated() {
            noise.withUnsafeMutableBufferPointer { random.fillGaussian($0.baseAddress!, count: dimension) }
            let embedding = model.users.row(userRow)
            for column in 0..<dimension { user[column] = embedding[column] / snapshot.userScale }
            noise.withUnsafeBufferPointer { x in
                user.withUnsafeBufferPointer { u in
                    network.setInput(row: row, noisy: x.baseAddress!, user: u.baseAddress!, environment: environments[row],
                                     step: start, parameters: snapshot.parameters)
                }
            }
        }
        var t = start
        for (k, stop) in configuration.stops.sorted(by: >).enumerated() {
            network.forward(snapshot.parameters, rows: rows)
            let alphaBar = Float(schedule.alphaBar(t))
            let alphaBarNext = Float(schedule.alphaBar(stop))
            let signal = alphaBar.squareRoot()
            let spread = (1 - alphaBar).squareRoot()
            for row in 0..<rows {
                let x = network.noisyInput(row: row)
                let prediction = network.output.row(row)
                let destination = output + (row &* perUser &+ k) &* stride
                for column in 0..<dimension {
                    let xt = x[column]
                    var x0: Float
                    let epsilon: Float
                    switch configuration.prediction {
                    case .epsilon:
                        epsilon = prediction[column]
                        x0 = (xt - spread * epsilon) / max(signal, 1e-4)
                    case .x0:
                        x0 = prediction[column]
                        epsilon = (xt - signal * x0) / max(spread, 1e-4)
                    }
                    // A unit-scale embedding has no business beyond ±5; an early, noisy
                    // estimate would otherwise throw the chain far off.
                    x0 = min(max(x0, -5), 5)
                    let next = alphaBarNext.squareRoot() * x0 + (1 - alphaBarNext).squareRoot() * epsilon
                    x[column] = next
                    destination[column] = (configuration.keepDenoised ? x0 : next) * snapshot.itemScale
                }
                network.setStep(row: row, step: stop)
            }
            t = stop
        }
    }

    // MARK: State

    /// Drops the vectors of users that left the state (their rows may soon hold others).
    package func forget(users gone: Set<Int32>) {
        substitutes?.forget(users: gone)
        guard users.contains(where: gone.contains) else { return }
        let kept = users.filter { !gone.contains($0) }
        let width = perUser * stride
        var compacted = [Float](repeating: 0, count: kept.count * width)
        for (index, user) in kept.enumerated() {
            let from = Int(slots[user]!) * width
            compacted.replaceSubrange(index * width..<(index + 1) * width, with: storage[from..<(from + width)])
        }
        storage = compacted
        users = kept
        slots = Dictionary(uniqueKeysWithValues: kept.enumerated().map { ($0.element, Int32($0.offset)) })
    }

    package func writeState(to writer: inout StateWriter, dimension: Int) {
        writer.beginSection("GNEG")
        writer.write(version)
        writer.write(users.count)
        for (index, user) in users.enumerated() {
            writer.write(user)
            for k in 0..<perUser {
                let start = (index * perUser + k) * stride
                writer.write(Array(storage[start..<(start + dimension)]))
            }
            if let substitutes { writer.write(Array(substitutes.items(of: user))) }
        }
        writer.endSection()
    }

    package func readState(from reader: inout StateReader, dimension: Int) throws {
        try reader.beginSection("GNEG")
        let restoredVersion = try reader.readInt()
        guard restoredVersion >= -1 else { throw StateReadError("generated negatives of snapshot \(restoredVersion)") }
        let count = try reader.readCount(elementSize: 4 + perUser * (8 + 4 * dimension), "users with generated negatives")
        var restoredUsers: [Int32] = []
        var restoredSlots: [Int32: Int32] = [:]
        var restoredStorage = [Float](repeating: 0, count: count * perUser * stride)
        var restoredSubstitutes: [(Int32, [Int32])] = []
        for index in 0..<count {
            let user = try reader.readInt32()
            guard restoredSlots[user] == nil else { throw StateReadError("generated negatives: user row \(user) appears twice") }
            restoredSlots[user] = Int32(index)
            restoredUsers.append(user)
            for k in 0..<perUser {
                let values = try reader.readFloatArray()
                try reader.expect(values.count, equals: dimension, "the length of a generated negative")
                try values.withUnsafeBufferPointer { try StateCheck.finite($0.baseAddress!, count: dimension, "a generated negative") }
                let start = (index * perUser + k) * stride
                restoredStorage.replaceSubrange(start..<(start + dimension), with: values)
            }
            if substitutes != nil {
                let items = try reader.readInt32Array()
                guard items.count <= perUser else { throw StateReadError("generated negatives: \(items.count) substitutes for \(perUser) vectors") }
                restoredSubstitutes.append((user, items))
            }
        }
        try reader.endSection()
        version = restoredVersion
        if let substitutes {
            substitutes.removeAll()
            for (user, items) in restoredSubstitutes { substitutes.set(items, for: user) }
        }
        users = restoredUsers
        slots = restoredSlots
        storage = restoredStorage
    }

    /// The held vectors belong to users the restored state has in use, and to its snapshot.
    func validateRestored(_ context: RestoredStateContext, snapshotVersion: Int) throws {
        guard users.isEmpty || version == snapshotVersion else {
            throw StateReadError("generated negatives of snapshot \(version) beside denoiser snapshot \(snapshotVersion)")
        }
        for user in users where user < 0 || Int(user) >= context.userCount {
            throw StateReadError("generated negatives name user row \(user), which does not exist")
        }
        try StateCheck.disjoint(users, from: context.freeUsers, "generated negatives")
        if let substitutes {
            let items = users.flatMap { substitutes.items(of: $0) }
            for item in items where item < 0 || Int(item) >= context.itemCount {
                throw StateReadError("a substitute names item row \(item), which does not exist")
            }
            try StateCheck.disjoint(items, from: context.freeItems, "substitute items")
        }
    }
}
