import CRdKafka

/// Builds `rd_kafka_conf_t` objects from string properties. Keys are applied in sorted order so a
/// failure always names the same property for the same input.
enum RDKafkaConfig {
    /// Returns an owned `rd_kafka_conf_t *`; the caller passes it to `rd_kafka_new` (which takes
    /// ownership on success) or destroys it.
    static func make(_ properties: [String: String]) throws -> OpaquePointer {
        guard let conf = rd_kafka_conf_new() else {
            throw KafkaError(kind: .configuration, message: "rd_kafka_conf_new returned NULL")
        }
        do {
            try apply(properties, to: conf)
        } catch {
            rd_kafka_conf_destroy(conf)
            throw error
        }
        return conf
    }

    static func apply(_ properties: [String: String], to conf: OpaquePointer) throws {
        let redactor = KafkaSecretRedactor(properties: properties)
        for key in properties.keys.sorted() {
            let value = properties[key]!
            var errorBuffer = [CChar](repeating: 0, count: 512)
            let result = rd_kafka_conf_set(conf, key, value, &errorBuffer, errorBuffer.count)
            guard result == RD_KAFKA_CONF_OK else {
                let reason = String(decoding: errorBuffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) },
                                    as: UTF8.self)
                // librdkafka's reason may quote the value; a secret one must not reach a log.
                throw KafkaError(kind: .configuration, message: "property '\(key)': \(redactor.redact(reason))")
            }
        }
    }
}

/// Checks librdkafka properties without creating a client, so configuration errors surface at
/// start-up with the property's name.
public enum KafkaConfigurationCheck {
    public static func validate(_ properties: [String: String]) throws {
        let conf = try RDKafkaConfig.make(properties)
        rd_kafka_conf_destroy(conf)
    }
}
