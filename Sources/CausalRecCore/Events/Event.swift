/// An input event (the schema in README.md, "Events and outputs"). Timestamps are epoch milliseconds of event time; nil means the
/// event had none and the transport's timestamp applies.
public enum Event: Sendable, Equatable {
    case impression(Impression)
    case click(Click)
    case request(RecommendationRequest)
    /// Remove everything known about a user (their row, history and queued positives).
    case forget(ForgetRequest)

    public var user: String {
        switch self {
        case let .impression(impression): impression.user
        case let .click(click): click.user
        case let .request(request): request.user
        case let .forget(forget): forget.user
        }
    }

    public var timestamp: Int64? {
        switch self {
        case let .impression(impression): impression.timestamp
        case let .click(click): click.timestamp
        case let .request(request): request.timestamp
        case let .forget(forget): forget.timestamp
        }
    }

    public var typeName: String {
        switch self {
        case .impression: "impression"
        case .click: "click"
        case .request: "request"
        case .forget: "forget"
        }
    }
}

/// Items shown to a user (a slate, or one item).
public struct Impression: Sendable, Equatable {
    public var user: String
    public var items: [String]
    public var timestamp: Int64?
    public var context: String?
    public var position: Int?

    public init(user: String, items: [String], timestamp: Int64?, context: String? = nil, position: Int? = nil) {
        self.user = user
        self.items = items
        self.timestamp = timestamp
        self.context = context
        self.position = position
    }
}

/// The user clicked an item: a positive.
public struct Click: Sendable, Equatable {
    public var user: String
    public var item: String
    public var timestamp: Int64?

    public init(user: String, item: String, timestamp: Int64?) {
        self.user = user
        self.item = item
        self.timestamp = timestamp
    }
}

/// A request for fresh recommendations; `k` nil means the configured default.
public struct RecommendationRequest: Sendable, Equatable {
    public var user: String
    public var k: Int?
    public var timestamp: Int64?

    public init(user: String, k: Int?, timestamp: Int64?) {
        self.user = user
        self.k = k
        self.timestamp = timestamp
    }
}

/// `{"type":"forget","user":"u1"}`: the user's data leaves the state (and the next checkpoint).
public struct ForgetRequest: Sendable, Equatable {
    public var user: String
    public var timestamp: Int64?

    public init(user: String, timestamp: Int64?) {
        self.user = user
        self.timestamp = timestamp
    }
}
