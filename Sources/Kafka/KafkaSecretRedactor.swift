/// Keeps secret property values out of logs and error messages. A property is secret when its
/// name contains `password`, `secret` or `key` (SASL passwords, OAuth client secrets, TLS keys and
/// their passwords; erring towards redacting a harmless path is fine). Every occurrence of a
/// secret's value in a text becomes `[redacted]`.
public struct KafkaSecretRedactor: Sendable {
    public static let marker = "[redacted]"
    private let secrets: [String]

    public static func isSecret(_ key: String) -> Bool {
        let lowered = key.lowercased()
        return lowered.contains("password") || lowered.contains("secret") || lowered.contains("key")
    }

    public init(properties: [String: String]) {
        // Longest first, so a secret that contains another is replaced whole.
        secrets = properties.filter { Self.isSecret($0.key) && !$0.value.isEmpty }.map(\.value)
            .sorted { $0.count > $1.count }
    }

    public func redact(_ text: String) -> String {
        var result = text
        for secret in secrets where result.contains(secret) {
            result = result.replacing(secret, with: Self.marker)
        }
        return result
    }

    /// The properties with secret values replaced, for showing a configuration.
    public static func redacted(_ properties: [String: String]) -> [String: String] {
        Dictionary(uniqueKeysWithValues: properties.map { ($0.key, isSecret($0.key) ? marker : $0.value) })
    }
}
