/// A bounded buffer of the most recent elements: it fills up to `capacity`, then each new element
/// replaces the oldest. Elements keep their storage slots (random draws index them by slot, so a
/// restored buffer draws exactly what the original would have); `oldestFirst` gives arrival order.
package struct RingBuffer<Element> {
    package let capacity: Int
    package private(set) var storage: [Element] = []
    /// The slot the next element replaces once the buffer is full.
    package private(set) var next = 0

    package init(capacity: Int) {
        precondition(capacity >= 0)
        self.capacity = capacity
    }

    package var count: Int { storage.count }
    package var isEmpty: Bool { storage.isEmpty }

    /// The element in slot `index` (0..<count).
    package subscript(slot index: Int) -> Element { storage[index] }

    /// Adds an element; returns the one it replaced (nil while the buffer is filling, and always
    /// for a capacity of 0, which keeps nothing).
    @discardableResult
    package mutating func append(_ element: Element) -> Element? {
        guard capacity > 0 else { return nil }
        if storage.count < capacity {
            storage.append(element)
            return nil
        }
        let replaced = storage[next]
        storage[next] = element
        next = (next + 1) % capacity
        return replaced
    }

    /// The elements in arrival order, oldest first.
    package var oldestFirst: [Element] { Array(storage[next...] + storage[..<next]) }

    /// Drops the elements that match; the rest keep their arrival order (from slot 0 on).
    package mutating func removeAll(where shouldRemove: (Element) -> Bool) {
        guard storage.contains(where: shouldRemove) else { return }
        storage = oldestFirst.filter { !shouldRemove($0) }
        next = 0
    }

    /// A buffer restored from its slots and position; `capacity` may differ from the one that
    /// wrote them (the newest elements are kept, in arrival order). Nil when `next` does not fit.
    package init?(restoring slots: [Element], next: Int, capacity: Int) {
        guard capacity >= 0, next >= 0, next <= max(0, slots.count - 1) else { return nil }
        self.capacity = capacity
        storage = slots
        self.next = next
        if slots.count > capacity || (next != 0 && slots.count < capacity) {
            storage = Array(oldestFirst.suffix(capacity))
            self.next = 0
        }
    }
}
