import CausalRecCore

/// Users with learned state, exported from a recommender that saw a few clicks of each: what the
/// changelog tests write and restore.
public enum SampleUsers {
    public static let dimension = 8

    /// `clicks` clicks per user, of items numbered from the user's index + `offset`.
    public static func records(_ names: [String], clicks: Int = 3, offset: Int = 0) -> [UserStateRecord] {
        var configuration = RecommenderConfiguration()
        configuration.model.dimension = dimension
        configuration.trainingBatchSize = 4
        let recommender = OnlineRecommender(configuration: configuration)
        for (userIndex, name) in names.enumerated() {
            for index in 0..<clicks {
                recommender.step(.click(Click(user: name, item: "i\(userIndex + index + offset)", timestamp: 1_700_000_000_000 + Int64(index))),
                                 fallbackTimestamp: 0)
            }
        }
        return recommender.exportUsers(names)
    }
}
