/// A ranked list recomputed only every `refreshEvery` changes of a version counter, so popular
/// lists cost O(items) rarely instead of on every request. Refresh points depend only on the
/// event stream, which keeps results deterministic.
struct RankedCache {
    private var cached: [Int32] = []
    private var cachedSize = 0
    private var cachedVersion = -1

    func writeState(to writer: inout StateWriter) {
        writer.write(cached)
        writer.write(cachedSize)
        writer.write(cachedVersion)
    }

    mutating func readState(from reader: inout StateReader) throws {
        cached = try reader.readInt32Array()
        cachedSize = try reader.readCounter("a cached list's size")
        cachedVersion = try reader.readInt()
    }

    func validateRestored(itemCount: Int, freeItems: [Int32], version: Int, _ what: String) throws {
        try StateCheck.rows(cached, below: itemCount, what)
        try StateCheck.disjoint(cached, from: freeItems, what)
        try StateCheck.require(Set(cached).count == cached.count && cached.count <= cachedSize
                                   && cachedVersion >= -1 && cachedVersion <= version,
                               "\(what) (\(cached.count) of \(cachedSize) items, version \(cachedVersion) of \(version)) is inconsistent")
    }

    private func isStale(limit: Int, version: Int, refreshEvery: Int) -> Bool {
        cachedVersion < 0 || version - cachedVersion >= refreshEvery || (version != cachedVersion && cached.isEmpty)
            || limit > cachedSize
    }

    /// The cached list when it is fresh, else a computed one that is not kept.
    func peek(limit: Int, version: Int, refreshEvery: Int, compute: (Int) -> [Int32]) -> [Int32] {
        isStale(limit: limit, version: version, refreshEvery: refreshEvery) ? compute(max(limit, 1_024)) : cached
    }

    mutating func items(limit: Int, version: Int, refreshEvery: Int, compute: (Int) -> [Int32]) -> [Int32] {
        if isStale(limit: limit, version: version, refreshEvery: refreshEvery) {
            cachedSize = max(limit, 1_024)
            cached = compute(cachedSize)
            cachedVersion = version
        }
        return cached
    }
}
