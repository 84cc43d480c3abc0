@testable import Kafka
import KafkaTestSupport
import Logging
import Testing

@Suite("Secrets stay out of logs")
struct SecretRedactionTests {
    @Test("secret property names are recognised and their values replaced in any text")
    func redactor() {
        for key in ["sasl.password", "ssl.key.password", "sasl.oauthbearer.client.secret", "ssl.key.pem", "SASL.PASSWORD"] {
            #expect(KafkaSecretRedactor.isSecret(key), "\(key)")
        }
        for key in ["sasl.username", "bootstrap.servers", "security.protocol", "sasl.mechanisms"] {
            #expect(!KafkaSecretRedactor.isSecret(key), "\(key)")
        }
        let redactor = KafkaSecretRedactor(properties: ["sasl.password": "hunter2", "sasl.username": "alice"])
        #expect(redactor.redact("login alice/hunter2 failed (hunter2)") == "login alice/[redacted] failed ([redacted])")
        #expect(KafkaSecretRedactor.redacted(["sasl.password": "hunter2", "sasl.username": "alice"])
            == ["sasl.password": "[redacted]", "sasl.username": "alice"])
        // Credentials in a URL, whatever the property.
        #expect(KafkaSecretRedactor.urlCredentials(in: "https://alice:s3cr3t@idp.example/token") == ["s3cr3t"])
        #expect(KafkaSecretRedactor.urlCredentials(in: "https://token@idp.example/x, http://idp.example/") == ["token"])
        #expect(KafkaSecretRedactor.urlCredentials(in: "https://idp.example/token") == [])
        let url = KafkaSecretRedactor(properties: ["sasl.oauthbearer.token.endpoint.url": "https://alice:s3cr3t@idp.example/token"])
        #expect(url.redact("POST https://alice:s3cr3t@idp.example/token failed") == "POST https://alice:[redacted]@idp.example/token failed")
        #expect(KafkaSecretRedactor.isSecret("sasl.oauthbearer.extensions"))
    }

    /// Debian's librdkafka 2.0.2 is built without OAuth/OIDC; `make test` loads 2.16, which has it.
    static let hasOAuth = (try? KafkaConfigurationCheck.validate(["sasl.oauthbearer.extensions": "a=b"])) != nil

    @Test("secrets librdkafka prints in clear itself (OAuth extensions, credentials in the token URL) never reach our logs",
          .enabled(if: hasOAuth, "this librdkafka is built without OAuth/OIDC"))
    func secretsLibrdkafkaShows() throws {
        let handler = CapturingLogHandler()
        let logger = Logger(label: "secrets") { _ in handler }
        let cluster = try KafkaMockCluster(brokers: 1, logger: TestKafka.logger)
        let extensionToken = "ext-token-never-log-this"
        let urlPassword = "url-password-never-log-this"
        var properties = [
            "debug": "conf,security,generic",
            "security.protocol": "sasl_plaintext",
            "sasl.mechanisms": "OAUTHBEARER",
            "sasl.oauthbearer.extensions": "logicalCluster=lkc-1,token=\(extensionToken)",
            "sasl.oauthbearer.token.endpoint.url": "https://alice:\(urlPassword)@idp.example/token",
        ]
        var secrets = [extensionToken, urlPassword]
        var configuration = KafkaConsumerConfiguration(bootstrapServers: cluster.bootstrapServers, groupID: "secret-test-2")
        configuration.properties = properties
        let consumer: KafkaConsumer
        do {
            consumer = try KafkaConsumer(configuration: configuration, logger: logger)
        } catch {
            // librdkafka built without OIDC (Debian's 2.0.2) has no token endpoint setting.
            properties.removeValue(forKey: "sasl.oauthbearer.token.endpoint.url")
            secrets = [extensionToken]
            configuration.properties = properties
            consumer = try KafkaConsumer(configuration: configuration, logger: logger)
        }
        for _ in 0..<5 { try consumer.poll(timeout: .milliseconds(100), handler: RecordingHandler()) }
        try consumer.close()
        let lines = handler.lines.withLock { $0 }
        // The dump happened and reached the extensions line...
        #expect(lines.contains { $0.contains("sasl.oauthbearer.extensions = ") }, "librdkafka dumped no configuration")
        // ...and none of the secrets appears.
        for secret in secrets {
            #expect(!lines.contains { $0.contains(secret) }, "\(lines.filter { $0.contains(secret) }.prefix(2))")
        }
    }

    @Test("librdkafka's own debug dump of the configuration passes through the redactor")
    func clientLogs() throws {
        let handler = CapturingLogHandler()
        let logger = Logger(label: "secrets") { _ in handler }
        let cluster = try KafkaMockCluster(brokers: 1, logger: TestKafka.logger)
        var configuration = KafkaConsumerConfiguration(bootstrapServers: cluster.bootstrapServers, groupID: "secret-test")
        let secret = "hunter2-never-log-this"
        configuration.properties = [
            "debug": "conf,security,generic",
            "security.protocol": "sasl_plaintext",
            "sasl.mechanisms": "PLAIN",
            "sasl.username": "alice",
            "sasl.password": secret,
        ]
        let consumer = try KafkaConsumer(configuration: configuration, logger: logger)
        for _ in 0..<5 { try consumer.poll(timeout: .milliseconds(100), handler: RecordingHandler()) }
        try consumer.close()
        let lines = handler.lines.withLock { $0 }
        #expect(lines.count > 10, "librdkafka logged nothing to check")
        // The dump happened (librdkafka marks the property itself; ours is the second guard)...
        #expect(lines.contains { $0.contains("sasl.password = [redacted]") })
        // ...and the value appears nowhere.
        #expect(!lines.contains { $0.contains(secret) }, "\(lines.filter { $0.contains(secret) }.prefix(3))")
    }
}
