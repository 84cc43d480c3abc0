extension CNSDiffConfiguration {
    /// Every setting by name (as in pipeline.yaml under `sampler.cnsdiff` and in
    /// `backtest --cnsdiff key=value,...`), with how to read it.
    public enum SettingError: Error, Equatable, CustomStringConvertible {
        case unknown(String)
        case invalid(key: String, value: String, expected: String)

        public var description: String {
            switch self {
            case let .unknown(key):
                "'\(key)' is not a cnsdiff setting (known: \(CNSDiffConfiguration.settingNames.joined(separator: ", ")))"
            case let .invalid(key, value, expected): "cnsdiff setting '\(key)': '\(value)' is not \(expected)"
            }
        }
    }

    public static let settingNames = [
        "steps", "schedule", "prediction", "hidden", "activation", "environment_embedding", "time_embedding",
        "condition_on_user", "condition_on_environment", "levels", "reverse_steps", "full_reverse_chain", "hardness",
        "stops", "term_weight", "filter_generated", "keep_denoised", "fixed_vector", "learn_exposure",
        "initial_alpha", "initial_beta", "final_alpha", "final_beta", "curriculum", "curriculum_positives",
        "intervention", "invariance_weight", "kl_weight", "contrastive_weight", "contrastive_temperature",
        "learning_rate", "train_every", "train_steps", "train_batch", "replay_capacity", "seed",
    ]

    /// Sets one setting from its text form (`apply` checks the settings against each other). Schedules: `cosine`, `linear:START:END`,
    /// `linear_variance:SCALE:MIN:MAX`; levels: `10/20/30`.
    public mutating func set(_ key: String, to value: String) throws(SettingError) {
        func int(_ range: ClosedRange<Int>) throws(SettingError) -> Int {
            guard let number = Int(value), range.contains(number) else {
                throw .invalid(key: key, value: value, expected: "an integer in \(range.lowerBound)…\(range.upperBound)")
            }
            return number
        }
        func double(_ range: ClosedRange<Double>) throws(SettingError) -> Double {
            guard let number = Double(value), number.isFinite, range.contains(number) else {
                throw .invalid(key: key, value: value, expected: "a number in \(range.lowerBound)…\(range.upperBound)")
            }
            return number
        }
        func bool() throws(SettingError) -> Bool {
            switch value {
            case "true": return true
            case "false": return false
            default: throw .invalid(key: key, value: value, expected: "true or false")
            }
        }
        func choice<T: RawRepresentable & CaseIterable>(_: T.Type) throws(SettingError) -> T where T.RawValue == String {
            guard let result = T(rawValue: value) else {
                throw .invalid(key: key, value: value, expected: "one of \(T.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            return result
        }
        switch key {
        case "steps": steps = try int(2...1_000)
        case "schedule":
            let parts = value.split(separator: ":").map(String.init)
            let numbers = parts.dropFirst().compactMap(Double.init)
            switch (parts.first, numbers.count, parts.count) {
            case ("cosine", 0, 1): schedule = .cosine
            case ("linear", 2, 3): schedule = .linear(start: numbers[0], end: numbers[1])
            case ("linear_variance", 3, 4): schedule = .linearVariance(scale: numbers[0], min: numbers[1], max: numbers[2])
            default: throw .invalid(key: key, value: value, expected: "cosine, linear:START:END or linear_variance:SCALE:MIN:MAX")
            }
        case "prediction": prediction = try choice(DiffusionPrediction.self)
        case "hidden": hiddenWidth = try int(4...4_096)
        case "activation": activation = try choice(DenoiserActivation.self)
        case "environment_embedding": environmentEmbedding = try int(1...256)
        case "time_embedding": timeEmbedding = try int(2...256)
        case "condition_on_user": conditionOnUser = try bool()
        case "condition_on_environment": conditionOnEnvironment = try bool()
        case "levels", "stops":
            let parsed = value.split(separator: "/").compactMap { Int($0) }
            guard !parsed.isEmpty, parsed.count == value.split(separator: "/").count, parsed.allSatisfy({ $0 >= 0 }) else {
                throw .invalid(key: key, value: value, expected: "noise-level indices like 10/20/30")
            }
            if key == "levels" { levels = parsed } else { stops = parsed }
        case "term_weight": termWeight = try double(0...1e3)
        case "filter_generated": filterGenerated = try bool()
        case "keep_denoised": keepDenoised = try bool()
        case "fixed_vector": fixedVector = try bool()
        case "learn_exposure": learnExposure = try bool()
        case "reverse_steps": reverseSteps = try int(0...1_000)
        case "full_reverse_chain": fullReverseChain = try bool()
        case "hardness": hardness = try choice(HardnessRule.self)
        case "initial_alpha": initialAlpha = try double(0.01...1_000)
        case "initial_beta": initialBeta = try double(0.01...1_000)
        case "final_alpha": finalAlpha = try double(0.01...1_000)
        case "final_beta": finalBeta = try double(0.01...1_000)
        case "curriculum": curriculum = try bool()
        case "curriculum_positives": curriculumPositives = try int(1...Int.max)
        case "intervention": intervention = try bool()
        case "invariance_weight": invarianceWeight = try double(0...1e6)
        case "kl_weight": klWeight = try double(0...1e6)
        case "contrastive_weight": contrastiveWeight = try double(0...1e6)
        case "contrastive_temperature": contrastiveTemperature = try double(1e-6...1e6)
        case "learning_rate": learningRate = Float(try double(0...10))
        case "train_every": trainEvery = try int(1...Int.max)
        case "train_steps": trainSteps = try int(0...10_000)
        case "train_batch": trainBatch = try int(1...65_536)
        case "replay_capacity": bufferCapacity = try int(1...100_000_000)
        case "seed": seed = UInt64(try int(0...Int.max))
        default: throw .unknown(key)
        }
    }

    /// Sets several settings, then checks the ones that depend on each other (levels below
    /// steps) — so their order does not matter (`steps: 100` with `levels: 60/70/80` is fine in
    /// any order).
    public mutating func apply(_ settings: [(key: String, value: String)]) throws(SettingError) {
        for (key, value) in settings { try set(key, to: value) }
        try validate()
    }

    /// The checks across settings.
    public func validate() throws(SettingError) {
        if levels.contains(where: { $0 >= steps }) {
            throw .invalid(key: "levels", value: levels.map(String.init).joined(separator: "/"),
                           expected: "below steps (\(steps))")
        }
        if stops.contains(where: { $0 >= steps - 1 }) || Set(stops).count != stops.count {
            throw .invalid(key: "stops", value: stops.map(String.init).joined(separator: "/"),
                           expected: "distinct indices below steps − 1 (\(steps - 1))")
        }
    }
}
