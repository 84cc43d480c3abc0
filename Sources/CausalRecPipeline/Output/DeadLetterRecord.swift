import Kafka

/// The dead-letter record of one rejected input message: the message's key and payload
/// unchanged, with headers saying why and where it came from — or, when key and payload together
/// are larger than `maxPayloadBytes` (or the broker refused the whole record), a bounded prefix
/// with the original size and SHA-256 in headers. A dead-letter record must always be producible:
/// a 1.2 MB message that the broker accepted into the input topic may still be too large for
/// the dead-letter topic or for the producer's `message.max.bytes`.
struct DeadLetterRecord: Equatable {
    static let errorHeader = "error"
    static let sourceTopicHeader = "source.topic"
    static let sourcePartitionHeader = "source.partition"
    static let sourceOffsetHeader = "source.offset"
    /// Present only on a cut record: the size and digest of what was cut.
    static let originalSizeHeader = "original.size"
    static let originalDigestHeader = "original.sha256"
    static let originalKeySizeHeader = "original.key_size"
    static let originalKeyDigestHeader = "original.key_sha256"

    struct Limits: Sendable, Equatable {
        /// Key and payload up to this many bytes are copied whole.
        var maxPayloadBytes = 65_536
        /// A cut record keeps this many bytes of the payload (and at most this many of the key).
        var prefixBytes = 1_024
    }

    var key: [UInt8]?
    var value: [UInt8]
    var headers: [KafkaHeader]

    var isCut: Bool { headers.contains { $0.key == Self.originalSizeHeader } }

    static func make(key: UnsafeRawBufferPointer?, payload: UnsafeRawBufferPointer, reason: String,
                     sourceTopic: String, sourcePartition: Int32, sourceOffset: Int64, limits: Limits) -> DeadLetterRecord
    {
        let headers = [
            KafkaHeader(key: errorHeader, string: reason),
            KafkaHeader(key: sourceTopicHeader, string: sourceTopic),
            KafkaHeader(key: sourcePartitionHeader, string: String(sourcePartition)),
            KafkaHeader(key: sourceOffsetHeader, string: String(sourceOffset)),
        ]
        if (key?.count ?? 0) + payload.count <= limits.maxPayloadBytes {
            return DeadLetterRecord(key: key.map { Array($0) }, value: Array(payload), headers: headers)
        }
        return cut(key: key, payload: payload, headers: headers, keep: limits.prefixBytes)
    }

    /// The record cut further for a broker that refused it as it is: a whole record becomes a
    /// prefix of `prefixBytes`, a cut one loses its prefix (headers only). Nil when nothing is
    /// left to cut.
    func reduced(prefixBytes: Int) -> DeadLetterRecord? {
        let current = headers
        if !isCut {
            return value.withUnsafeBytes { payload in
                key.withUnsafeBufferPointerOrNil { keyBytes in
                    Self.cut(key: keyBytes, payload: payload, headers: current, keep: min(prefixBytes, max(0, value.count - 1)))
                }
            }
        }
        guard !value.isEmpty || !(key?.isEmpty ?? true) else { return nil }
        var reducedHeaders = current
        if let key, !key.isEmpty, !current.contains(where: { $0.key == Self.originalKeySizeHeader }) {
            reducedHeaders.append(KafkaHeader(key: Self.originalKeySizeHeader, string: String(key.count)))
            reducedHeaders.append(KafkaHeader(key: Self.originalKeyDigestHeader, string: key.withUnsafeBytes { SHA256.hexDigest($0) }))
        }
        return DeadLetterRecord(key: key == nil ? nil : [], value: [], headers: reducedHeaders)
    }

    private static func cut(key: UnsafeRawBufferPointer?, payload: UnsafeRawBufferPointer, headers: [KafkaHeader],
                            keep: Int) -> DeadLetterRecord
    {
        var headers = headers
        headers.append(KafkaHeader(key: originalSizeHeader, string: String(payload.count)))
        headers.append(KafkaHeader(key: originalDigestHeader, string: SHA256.hexDigest(payload)))
        var keptKey = key.map { Array($0) }
        if let key, key.count > keep {
            headers.append(KafkaHeader(key: originalKeySizeHeader, string: String(key.count)))
            headers.append(KafkaHeader(key: originalKeyDigestHeader, string: SHA256.hexDigest(key)))
            keptKey = Array(key.prefix(keep))
        }
        return DeadLetterRecord(key: keptKey, value: Array(payload.prefix(keep)), headers: headers)
    }
}

extension Optional where Wrapped == [UInt8] {
    fileprivate func withUnsafeBufferPointerOrNil<Result>(_ body: (UnsafeRawBufferPointer?) -> Result) -> Result {
        switch self {
        case let .some(bytes): bytes.withUnsafeBytes { body($0) }
        case .none: body(nil)
        }
    }
}
