/// The answering part's checkpoint section: the cached popular lists, the exposure adjustment
/// and the exponent selectors (a restored service answers what the original would have).
extension RankingState {
    func writeState(to writer: inout StateWriter) {
        writer.beginSection("RANK")
        writeFields(to: &writer)
        writer.endSection()
    }

    func readState(from reader: inout StateReader, itemCount: Int) throws {
        try reader.beginSection("RANK")
        try readFields(from: &reader, itemCount: itemCount)
        try reader.endSection()
    }

    /// The fields, which the layouts before 5 wrote without a section of their own.
    func writeFields(to writer: inout StateWriter) {
        mostExposedCache.writeState(to: &writer)
        mostClickedCache.writeState(to: &writer)
        adjustment.writeState(to: &writer)
        rankingExponent.writeState(to: &writer)
        coldStartExponent.writeState(to: &writer)
    }

    func readFields(from reader: inout StateReader, itemCount: Int) throws {
        try mostExposedCache.readState(from: &reader)
        try mostClickedCache.readState(from: &reader)
        try adjustment.readState(from: &reader, itemCount: itemCount)
        try rankingExponent.readState(from: &reader)
        try coldStartExponent.readState(from: &reader)
    }

    /// The cached lists name rows in use only, and are no newer than what they were computed from.
    func validateRestored(itemCount: Int, freeItems: [Int32]) throws {
        for (what, cache, version) in [("the most-exposed list", mostExposedCache, tables.exposure.recordedCount),
                                       ("the most-clicked list", mostClickedCache, tables.history.totalClicks)]
        {
            try cache.validateRestored(itemCount: itemCount, freeItems: freeItems, version: version, what)
        }
    }
}
