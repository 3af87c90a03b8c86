/// transformers' generate_merges, for SentencePiece vocabularies that list no merges: every split of
/// every token into two vocabulary pieces, ordered by the token's score (best first), then by longer
/// left and longer right piece; ties keep token order, and a token's own splits are ordered by the
/// pieces' ids. Python compares tokens code point by code point, so the lookups here key on UTF-8 bytes
/// (no Unicode normalization, no String per split): 262k Gemma tokens take a fraction of a second.
enum MergesFromScores {
    /// A merge as ids: left + right → merged.
    struct Merge: Equatable { let left: Int32, right: Int32, merged: Int32 }

    /// The merges, best first. `tokens[id]`, each token's `scores[id]`; a token listed twice counts at its
    /// first position with its last id and score, as Python's dict built from the list does.
    static func merges(tokens: [String], scores: [Double]) -> [Merge] {
        let table = ByteVocabulary(tokens)
        var candidates: [(merge: Merge, score: Double, leftLength: Int32, rightLength: Int32)] = []
        for (id, token) in tokens.enumerated() where table.firstID(token) == id {
            let bytes = Array(token.utf8)
            guard bytes.count > 1, let last = table.id(bytes[...]) else { continue }
            // scalar boundaries: a byte that is not a continuation byte
            let cuts = (1..<bytes.count).filter { bytes[$0] & 0xC0 != 0x80 }
            var local: [(Merge, Int32, Int32)] = []
            for (n, cut) in cuts.enumerated() {
                guard let l = table.id(bytes[..<cut]), let r = table.id(bytes[cut...]) else { continue }
                local.append((Merge(left: Int32(l), right: Int32(r), merged: Int32(last)), Int32(n + 1), Int32(cuts.count - n)))
            }
            local.sort { ($0.0.left, $0.0.right) < ($1.0.left, $1.0.right) }
            for (merge, leftLength, rightLength) in local { candidates.append((merge, scores[last], leftLength, rightLength)) }
        }
        // a stable sort keeps token order among equals, as Python's sorted(..., reverse=True) does
        var order = Array(candidates.indices)
        order.sort { i, j in
            let a = candidates[i], b = candidates[j]
            if a.score != b.score { return a.score > b.score }
            if a.leftLength != b.leftLength { return a.leftLength > b.leftLength }
            if a.rightLength != b.rightLength { return a.rightLength > b.rightLength }
            return i < j
        }
        return order.map { candidates[$0].merge }
    }
}

/// Token → id by UTF-8 bytes (open addressing, FNV-1a): the last id of a token listed twice, and its first.
struct ByteVocabulary {
    private var bytes: [UInt8] = []
    private var entries: [(start: Int, length: Int, last: Int, first: Int)] = []
    private var slots: [Int32]
    private let mask: Int

    init(_ tokens: [String]) {
        var size = 1
        while size < tokens.count * 2 { size <<= 1 }
        slots = [Int32](repeating: -1, count: max(size, 2))
        mask = slots.count - 1
        for (id, token) in tokens.enumerated() {
            let utf8 = Array(token.utf8)
            let slot = find(utf8[...])
            if slots[slot] >= 0 {
                entries[Int(slots[slot])].last = id
            } else {
                slots[slot] = Int32(entries.count)
                entries.append((bytes.count, utf8.count, id, id))
                bytes += utf8
            }
        }
    }

    /// The slot holding `key`, or the empty slot where it would go.
    private func find(_ key: ArraySlice<UInt8>) -> Int {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in key { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        var slot = Int(truncatingIfNeeded: h) & mask
        while slots[slot] >= 0 {
            let e = entries[Int(slots[slot])]
            if e.length == key.count && bytes[e.start..<(e.start + e.length)].elementsEqual(key) { return slot }
            slot = (slot + 1) & mask
        }
        return slot
    }

    /// The last id of the token with these bytes.
    func id(_ key: ArraySlice<UInt8>) -> Int? {
        let s = slots[find(key)]
        return s >= 0 ? entries[Int(s)].last : nil
    }

    /// The first id of `token`.
    func firstID(_ token: String) -> Int? {
        let s = slots[find(Array(token.utf8)[...])]
        return s >= 0 ? entries[Int(s)].first : nil
    }
}
