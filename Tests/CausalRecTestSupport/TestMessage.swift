import CausalRecPipeline

/// An input message in memory, fed to the processor through the same door as a Kafka message.
package struct TestMessage: InputMessage {
    package var topic = "events"
    package var partition: Int32 = 0
    package var offset: Int64
    package var timestampMilliseconds: Int64? = 1_700_000_000_000
    package var payload: [UInt8]

    package init(offset: Int64, _ text: String, partition: Int32 = 0) {
        self.offset = offset
        self.partition = partition
        payload = Array(text.utf8)
    }

    package func withBytes<Result>(_ body: (UnsafeRawBufferPointer?, UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
        try payload.withUnsafeBytes { try body(nil, $0) }
    }
}
