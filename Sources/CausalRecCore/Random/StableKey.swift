/// A 64-bit key of a string that is the same in every process and on every machine (FNV-1a over
/// its UTF-8 bytes). Swift's `Hasher` is seeded per process, so it cannot name anything that
/// must agree across a restart or between instances.
public enum StableKey {
    public static func of(_ string: String) -> UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in string.utf8 {
            hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3
        }
        return hash
    }
}
