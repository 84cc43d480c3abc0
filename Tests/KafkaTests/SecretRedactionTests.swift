import Kafka
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
