/// The generator's state in checkpoints: four words, restored exactly (bit-for-bit resume).
extension StateReader {
    public mutating func readRandom() throws -> Xoshiro256 {
        let state = (try readUInt64(), try readUInt64(), try readUInt64(), try readUInt64())
        guard state != (0, 0, 0, 0) else { throw StateReadError("a random generator state of all zeros") }
        return Xoshiro256(state: state)
    }
}

extension StateWriter {
    public mutating func write(_ random: Xoshiro256) {
        write(random.state.0)
        write(random.state.1)
        write(random.state.2)
        write(random.state.3)
    }
}
