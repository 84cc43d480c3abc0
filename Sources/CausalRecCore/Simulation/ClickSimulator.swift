/// Settings of the synthetic world.
public struct SimulatorConfiguration: Sendable, Equatable {
    public var users: Int = 1_000
    public var items: Int = 1_000
    /// Latent topics: users and items cluster around topic centres, so preferences are learnable.
    public var topics: Int = 10
    public var latentDimension: Int = 8
    /// Items per impression slate.
    public var slateSize: Int = 5
    /// Zipf exponent of item popularity (the confounder).
    public var popularityExponent: Double = 1.0
    /// Exposure probability ∝ popularity^exposureBias (0 = uniform exposure).
    public var exposureBias: Double = 1.0
    /// Sharpness of true preferences: click logit = affinityScale·⟨a_u, b_i⟩ + baseClickLogit + quality_i.
    public var affinityScale: Double = 4.0
    public var baseClickLogit: Double = -4.0
    /// Share of events that are recommendation requests.
    public var requestProbability: Double = 0.02
    /// Event time of the first event (epoch ms) and the spacing of events.
    public var startTimestamp: Int64 = 1_700_000_000_000
    public var millisecondsPerEvent: Int64 = 100
    /// Re-draw the popularity ranking (what the exposure policy promotes) at this event index.
    public var shiftAt: Int?
    /// Every this many events one item and one user leave for good and a new one takes the slot
    /// (a new id with the same hidden traits), so the id space keeps growing — for memory tests.
    public var churnEvery: Int?
    public var seed: UInt64 = 1

    public init() {}
}

/// A synthetic event stream with known ground truth: true user preferences, a
/// popularity-biased exposure policy, and clicks that happen only on exposed items with the true
/// click probability — so what gets clicked is confounded by what gets shown. Optionally the
/// policy shifts (a new popularity ranking) at a planted event. Deterministic for a seed; emits
/// only valid events.
public struct ClickSimulator: Sendable {
    public let configuration: SimulatorConfiguration
    private var random: Xoshiro256
    private let userVectors: [Double]
    private let itemVectors: [Double]
    private let itemQuality: [Double]
    public let userTopics: [Int]
    public let itemTopics: [Int]
    private var popularityRank: [Int]
    private var exposurePolicy: AliasTable
    private var exposureWeights: [Double]
    private var clicked: [Set<Int32>]
    private var queue: [Event] = []
    private var queueIndex = 0
    public private(set) var eventsEmitted = 0
    public private(set) var shifted = false
    private var itemGeneration: [Int]
    private var userGeneration: [Int]
    private var churned = 0

    public init(configuration: SimulatorConfiguration) {
        precondition(configuration.users > 0 && configuration.items > 1 && configuration.topics > 0)
        precondition(configuration.slateSize > 0 && configuration.slateSize <= configuration.items)
        self.configuration = configuration
        var random = Xoshiro256(seed: configuration.seed)
        let dimension = configuration.latentDimension
        var centres = [Double](repeating: 0, count: configuration.topics * dimension)
        for topic in 0..<configuration.topics {
            var norm = 0.0
            for d in 0..<dimension {
                let value = random.nextGaussian()
                centres[topic * dimension + d] = value
                norm += value * value
            }
            norm = norm.squareRoot()
            for d in 0..<dimension { centres[topic * dimension + d] /= norm }
        }
        func draw(_ count: Int, topics: inout [Int]) -> [Double] {
            var vectors = [Double](repeating: 0, count: count * dimension)
            for index in 0..<count {
                let topic = random.nextIndex(below: configuration.topics)
                topics.append(topic)
                for d in 0..<dimension {
                    vectors[index * dimension + d] = centres[topic * dimension + d] + 0.3 * random.nextGaussian() / Double(dimension).squareRoot()
                }
            }
            return vectors
        }
        var userTopics: [Int] = []
        var itemTopics: [Int] = []
        userVectors = draw(configuration.users, topics: &userTopics)
        itemVectors = draw(configuration.items, topics: &itemTopics)
        self.userTopics = userTopics
        self.itemTopics = itemTopics
        itemQuality = (0..<configuration.items).map { _ in 0.5 * random.nextGaussian() }
        popularityRank = Self.shuffledRanks(configuration.items, &random)
        exposureWeights = Self.exposureWeights(ranks: popularityRank, configuration: configuration)
        exposurePolicy = AliasTable(weights: exposureWeights)
        clicked = [Set<Int32>](repeating: [], count: configuration.users)
        itemGeneration = [Int](repeating: 0, count: configuration.items)
        userGeneration = [Int](repeating: 0, count: configuration.users)
        self.random = random
    }

    public static func userID(_ user: Int) -> String { "u\(user)" }
    public static func itemID(_ item: Int) -> String { "i\(item)" }

    /// The current id of a user slot (`userID` until the slot churns, then with a generation).
    public func userName(_ user: Int) -> String {
        userGeneration[user] == 0 ? Self.userID(user) : "u\(user)g\(userGeneration[user])"
    }

    public func itemName(_ item: Int) -> String {
        itemGeneration[item] == 0 ? Self.itemID(item) : "i\(item)g\(itemGeneration[item])"
    }

    /// Parses an id made by `itemID`/`userID` back to its index.
    public static func index(of identifier: String) -> Int? {
        Int(identifier.dropFirst().prefix { $0.isNumber })
    }

    // MARK: Ground truth

    /// The true probability that `user` clicks `item` when it is shown.
    public func trueClickProbability(user: Int, item: Int) -> Double {
        let dimension = configuration.latentDimension
        var dot = 0.0
        for d in 0..<dimension {
            dot += userVectors[user * dimension + d] * itemVectors[item * dimension + d]
        }
        let logit = configuration.affinityScale * dot + configuration.baseClickLogit + itemQuality[item]
        return 1 / (1 + _exp(-logit))
    }

    /// The current exposure policy's probability of drawing `item` into a slate position.
    public func exposureProbability(item: Int) -> Double {
        exposureWeights[item] / exposureWeights.reduce(0, +)
    }

    /// The user's `k` truly best items it has not clicked yet.
    public func trueTopItems(user: Int, k: Int) -> [Int] {
        var selector = TopKSelector<Double>(capacity: k)
        for item in 0..<configuration.items where !clicked[user].contains(Int32(item)) {
            selector.offer(score: trueClickProbability(user: user, item: item), item: Int32(item))
        }
        return selector.sortedDescending().map { Int($0.item) }
    }

    public func hasClicked(user: Int, item: Int) -> Bool {
        clicked[user].contains(Int32(item))
    }

    // MARK: Stream

    /// The next event.
    public mutating func next() -> Event {
        if queueIndex >= queue.count {
            refill()
        }
        let event = queue[queueIndex]
        queueIndex += 1
        eventsEmitted += 1
        if let every = configuration.churnEvery, every > 0, eventsEmitted % every == 0 {
            churn()
        }
        if let shiftAt = configuration.shiftAt, !shifted, eventsEmitted >= shiftAt {
            plantShift()
        }
        return event
    }

    private mutating func refill() {
        queue.removeAll(keepingCapacity: true)
        queueIndex = 0
        let timestamp = configuration.startTimestamp + Int64(eventsEmitted) * configuration.millisecondsPerEvent
        let user = random.nextIndex(below: configuration.users)
        if random.nextUnitDouble() < configuration.requestProbability {
            queue.append(.request(RecommendationRequest(user: userName(user), k: 20, timestamp: timestamp)))
            return
        }
        var slate: [Int] = []
        var attempts = 0
        while slate.count < configuration.slateSize && attempts < configuration.slateSize * 20 {
            attempts += 1
            let item = exposurePolicy.sample(&random)
            // The policy does not re-show clicked items or repeat one within a slate.
            if clicked[user].contains(Int32(item)) || slate.contains(item) { continue }
            slate.append(item)
        }
        if slate.isEmpty {
            queue.append(.request(RecommendationRequest(user: userName(user), k: 20, timestamp: timestamp)))
            return
        }
        queue.append(.impression(Impression(user: userName(user), items: slate.map(itemName),
                                            timestamp: timestamp, context: "home")))
        for item in slate where random.nextUnitDouble() < trueClickProbability(user: user, item: item) {
            clicked[user].insert(Int32(item))
            queue.append(.click(Click(user: userName(user), item: itemName(item), timestamp: timestamp + 1)))
        }
    }

    private mutating func churn() {
        let item = churned % configuration.items
        itemGeneration[item] += 1
        for user in clicked.indices { clicked[user].remove(Int32(item)) }
        let user = churned % configuration.users
        userGeneration[user] += 1
        clicked[user] = []
        churned += 1
    }

    private mutating func plantShift() {
        shifted = true
        popularityRank = Self.shuffledRanks(configuration.items, &random)
        exposureWeights = Self.exposureWeights(ranks: popularityRank, configuration: configuration)
        exposurePolicy = AliasTable(weights: exposureWeights)
    }

    private static func shuffledRanks(_ count: Int, _ random: inout Xoshiro256) -> [Int] {
        var ranks = Array(0..<count)
        for index in stride(from: count - 1, to: 0, by: -1) {
            ranks.swapAt(index, random.nextIndex(below: index + 1))
        }
        return ranks
    }

    private static func exposureWeights(ranks: [Int], configuration: SimulatorConfiguration) -> [Double] {
        ranks.map { rank in
            _pow(_pow(Double(rank + 1), -configuration.popularityExponent), configuration.exposureBias)
        }
    }
}
