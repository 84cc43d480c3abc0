/// Which item rows were written since their reader (the quantized copy used by large-catalogue
/// rankings) last looked: one bit per row. Parallel training marks only the rows a thread owns, and
/// rows are owned in blocks of 64 — one word of this set — so no two threads write the same word.
package final class ChangedRows {
    private var words: UnsafeMutablePointer<UInt64>
    private var wordCount = 0
    /// Every row counts as changed (fresh or restored state): the reader rebuilds all.
    package private(set) var all = true

    package init() {
        words = .allocate(capacity: 1)
    }

    deinit {
        words.deallocate()
    }

    /// Makes room for `rows` rows (new rows count as changed).
    package func grow(to rows: Int) {
        let needed = (rows + 63) / 64
        guard needed > wordCount else { return }
        let grown = UnsafeMutablePointer<UInt64>.allocate(capacity: needed)
        grown.update(from: words, count: wordCount)
        (grown + wordCount).initialize(repeating: ~0, count: needed - wordCount)
        words.deallocate()
        words = grown
        wordCount = needed
    }

    @inline(__always)
    package func mark(_ row: Int32) {
        let index = Int(row) >> 6
        if index < wordCount { words[index] |= 1 << UInt64(row & 63) }
    }

    package func markAll() {
        all = true
    }

    /// Calls `body` for each row below `rows` marked since the last drain (every row after
    /// `markAll`), then clears the marks.
    package func drain(rows: Int, _ body: (Int32) -> Void) {
        if all {
            for row in 0..<rows { body(Int32(row)) }
            for index in 0..<wordCount { words[index] = 0 }
            all = false
            return
        }
        for index in 0..<min(wordCount, (rows + 63) / 64) where words[index] != 0 {
            var word = words[index]
            words[index] = 0
            while word != 0 {
                let bit = word.trailingZeroBitCount
                word &= word - 1
                let row = index * 64 + bit
                if row < rows { body(Int32(row)) }
            }
        }
    }
}
