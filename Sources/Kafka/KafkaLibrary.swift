import CRdKafka

/// Facts about the librdkafka that is loaded at run time (not the headers compiled against).
public enum KafkaLibrary {
    /// For example "2.0.2".
    public static var versionString: String { String(cString: rd_kafka_version_str()) }

    /// The version as 0xMMmmrrxx.
    public static var versionNumber: Int32 { rd_kafka_version() }

    /// librdkafka before 2.2.0 fails against brokers that send tagged fields in ApiVersion
    /// responses ("ApiVersionRequest failed: Read underflow"); the fix landed in 2.2.0.
    public static var isOlderThan2_2: Bool { versionNumber < 0x0202_0000 }
}
