/// Keeps secret property values out of logs and error messages. A property is secret when its
/// name contains `password`, `secret` or `key` (SASL passwords, OAuth client secrets, TLS keys and
/// their passwords; erring towards redacting a harmless path is fine), or when it is one of the
/// OAuth settings that carry tokens (`sasl.oauthbearer.config`, `.extensions`). Credentials in
/// a URL (`https://user:password@host/…`, e.g. a token endpoint) are secret whatever the name.
/// Every occurrence of a secret in a text becomes `[redacted]`.
///
/// librdkafka marks its own sensitive properties and hides them in its configuration dump, but
/// not all that can hold a secret: 2.16 prints `sasl.oauthbearer.extensions` and the token
/// endpoint URL (with any credentials in it) in clear.
package struct KafkaSecretRedactor: Sendable {
    package static let marker = "[redacted]"
    private let secrets: [String]

    /// Settings whose whole value is secret although the name does not say so.
    static let tokenBearing: Set<String> = ["sasl.oauthbearer.config", "sasl.oauthbearer.extensions"]

    package static func isSecret(_ key: String) -> Bool {
        let lowered = key.lowercased()
        return lowered.contains("password") || lowered.contains("secret") || lowered.contains("key")
            || tokenBearing.contains(lowered)
    }

    /// The password (or the whole user information) of every `scheme://user:password@` in `value`.
    static func urlCredentials(in value: String) -> [String] {
        var found: [String] = []
        var rest = value[...]
        while let scheme = rest.range(of: "://") {
            let authority = rest[scheme.upperBound...].prefix { $0 != "/" && $0 != "?" && $0 != "#" && $0 != " " && $0 != "," }
            if let at = authority.lastIndex(of: "@") {
                let userInformation = authority[..<at]
                if let colon = userInformation.firstIndex(of: ":") {
                    let password = userInformation[userInformation.index(after: colon)...]
                    if !password.isEmpty { found.append(String(password)) }
                } else if !userInformation.isEmpty {
                    found.append(String(userInformation))
                }
            }
            rest = rest[scheme.upperBound...]
        }
        return found
    }

    package init(properties: [String: String]) {
        var values = properties.filter { Self.isSecret($0.key) && !$0.value.isEmpty }.map(\.value)
        for value in properties.values { values += Self.urlCredentials(in: value) }
        // Longest first, so a secret that contains another is replaced whole.
        secrets = Array(Set(values)).sorted { $0.count != $1.count ? $0.count > $1.count : $0 < $1 }
    }

    package func redact(_ text: String) -> String {
        var result = text
        for secret in secrets where result.contains(secret) {
            result = result.replacing(secret, with: Self.marker)
        }
        return result
    }

    /// The properties with secret values replaced, for showing a configuration.
    package static func redacted(_ properties: [String: String]) -> [String: String] {
        let redactor = KafkaSecretRedactor(properties: properties)
        return Dictionary(uniqueKeysWithValues: properties.map { ($0.key, isSecret($0.key) ? marker : redactor.redact($0.value)) })
    }
}
