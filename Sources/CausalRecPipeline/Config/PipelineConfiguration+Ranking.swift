import CausalRecCore

extension PipelineConfiguration {
    /// The `deconfounding` section: exposure as the confounder in training (γ) and ranking (γ̃,
    /// fixed or chosen online among candidates), the cold-start rule and propensity weighting.
    mutating func readDeconfounding(_ document: ConfigurationSection) throws {
        let section = try document.section("deconfounding")
        var settings = recommender.deconfounding
        let exponents = 0.0...8.0
        // Training multiplies scores by r^γ: above 2 that overflows Float on large catalogues.
        settings.trainingExponent = try section.number("training_exponent", default: settings.trainingExponent, range: 0...2)
        settings.rankingExponent = try section.number("ranking_exponent", default: settings.rankingExponent, range: exponents)
        settings.onlineRankingExponents = try section.numberList("online_ranking_exponents", default: settings.onlineRankingExponents,
                                                                 range: exponents)
        settings.coldStartClicks = try section.integer("cold_start_clicks", default: settings.coldStartClicks, range: 0...1_000_000, unit: "clicks")
        settings.coldStartExponent = try section.number("cold_start_exponent", default: settings.coldStartExponent, range: exponents)
        settings.onlineColdStartExponents = try section.numberList("online_cold_start_exponents", default: settings.onlineColdStartExponents,
                                                                   range: exponents)
        settings.onlineHorizon = try section.integer("online_horizon", default: settings.onlineHorizon, range: 1...100_000_000, unit: "clicks")
        settings.propensityWeightExponent = try section.number("propensity_weight_exponent", default: settings.propensityWeightExponent,
                                                               range: 0...4)
        settings.propensityClip = try section.number("propensity_clip", default: settings.propensityClip, range: 1...1e6)
        settings.exposureFloor = try section.number("exposure_floor", default: settings.exposureFloor, range: 1e-9...1)
        for (key, list) in [("online_ranking_exponents", settings.onlineRankingExponents),
                            ("online_cold_start_exponents", settings.onlineColdStartExponents)]
        where Set(list).count != list.count {
            throw ConfigurationError(path: "deconfounding.\(key)", reason: "lists a value twice (\(list.map { "\($0)" }.joined(separator: ", ")))")
        }
        if settings.coldStartClicks == 0 && (settings.coldStartExponent > 0 || !settings.onlineColdStartExponents.isEmpty) {
            throw ConfigurationError(path: "deconfounding.cold_start_clicks",
                                     reason: "must be at least 1 when a cold-start exponent is set (it says which users are cold)")
        }
        recommender.deconfounding = settings
        try section.finish()
    }

    /// The `ranking` section: when large catalogues are pre-scanned in 8 bits.
    mutating func readRanking(_ document: ConfigurationSection) throws {
        let section = try document.section("ranking")
        var settings = recommender.approximateRanking
        settings.minimumItems = try section.integer("approximate_min_items", default: settings.minimumItems, range: 0...Int(Int32.max),
                                                    unit: "items")
        settings.candidates = try section.integer("approximate_candidates", default: settings.candidates, range: 1...1_000_000,
                                                  unit: "items")
        recommender.approximateRanking = settings
        try section.finish()
    }
}
