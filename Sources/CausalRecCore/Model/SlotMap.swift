/// Row number → dense scratch slot, for the rows one batch touches.
struct SlotMap {
    private var slots: [Int32] = []
    private(set) var touched: [Int32] = []

    mutating func reserve(rows: Int) {
        if slots.count < rows {
            slots.append(contentsOf: repeatElement(-1, count: rows - slots.count))
        }
    }

    @inline(__always)
    mutating func slot(for row: Int32) -> Int32 {
        let existing = slots[Int(row)]
        if existing >= 0 { return existing }
        let slot = Int32(touched.count)
        slots[Int(row)] = slot
        touched.append(row)
        return slot
    }

    /// `slot(for:)`, and whether the row got its slot just now (its scratch row holds no sum
    /// yet, so the first contribution is written rather than added).
    @inline(__always)
    mutating func slot(for row: Int32, isNew: inout Bool) -> Int32 {
        let existing = slots[Int(row)]
        if existing >= 0 {
            isNew = false
            return existing
        }
        let slot = Int32(touched.count)
        slots[Int(row)] = slot
        touched.append(row)
        isNew = true
        return slot
    }

    mutating func reset() {
        for row in touched { slots[Int(row)] = -1 }
        touched.removeAll(keepingCapacity: true)
    }
}
