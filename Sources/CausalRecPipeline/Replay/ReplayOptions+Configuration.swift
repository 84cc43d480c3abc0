import CausalRecOffline

extension ReplayOptions {
    /// The replay settings of a service configuration file: its recommender, its drift windows and
    /// its event limits.
    public init(samplers: [String], configuration: PipelineConfiguration, windowEvents: Int, reportDirectory: String) {
        self.init(samplers: samplers, recommender: configuration.recommender, drift: configuration.drift,
                  eventLimits: configuration.events, windowEvents: windowEvents, reportDirectory: reportDirectory)
    }
}
