import Synchronization
/// Byte-pair encoding (tokenizers' BPE model, no dropout): a word starts as one
/// symbol per Unicode scalar, and the adjacent pair with the lowest merge rank
/// (leftmost on ties) merges until none applies — with a heap, so long words
/// (SentencePiece-style text without pre-tokenization) stay fast. Unknown
/// scalars become byte tokens "<0xXX>" (byte_fallback) or the unknown token.
final class BPEModel {
    let vocab: [String: Int]
    let idToToken: [String]
    private let merges: [UInt64: (rank: Int32, id: Int32)]
    /// The merges as token pairs, in rank order (what tokenizer.json lists).
    var orderedMerges: [(String, String)] {
        merges.sorted { $0.value.rank < $1.value.rank }.map { key, _ in (idToToken[Int(key >> 32)], idToToken[Int(key & 0xFFFF_FFFF)]) }
    }
    let byteFallback: Bool
    let unknownID: Int?
    let fuseUnknown: Bool
    private var byteIDs: [Int?] = []
    /// Ids of single-scalar tokens below U+1000 (-1: none): the byte-level alphabet and Latin
    /// text without a dictionary lookup per scalar.
    private var scalarIDs = [Int32](repeating: -1, count: 0x1000)
    /// Word → ids, shared by every thread that encodes with this model; sixteen shards
    /// (picked by length and first byte, no hashing) so that threads rarely wait.
    private let cache: [CacheShard] = (0..<16).map { _ in CacheShard() }
    private let cacheLimit = 200_000 / 16

    /// Merges as token pairs (tokenizer.json, a GGUF's merges), looked up in `vocab`.
    convenience init(vocab: [String: Int], merges: [(String, String)], byteFallback: Bool = false, unknown: String? = nil,
                     fuseUnknown: Bool = false) throws {
        var ids: [MergesFromScores.Merge] = []
        ids.reserveCapacity(merges.count)
        for (rank, (a, b)) in merges.enumerated() {
            guard let ia = vocab[a], let ib = vocab[b], let merged = vocab[a + b] else {
                throw TokenizerError("merge \(rank) '\(a) \(b)' uses a token that is not in the vocabulary")
            }
            ids.append(MergesFromScores.Merge(left: Int32(ia), right: Int32(ib), merged: Int32(merged)))
        }
        self.init(vocab: vocab, mergeIDs: ids, byteFallback: byteFallback, unknown: unknown, fuseUnknown: fuseUnknown)
    }

    /// Merges as ids, best first.
    init(vocab: [String: Int], mergeIDs: [MergesFromScores.Merge], byteFallback: Bool = false, unknown: String? = nil, fuseUnknown: Bool = false) {
        self.vocab = vocab
        var tokens = [String](repeating: "", count: (vocab.values.max() ?? -1) + 1)
        for (t, id) in vocab { tokens[id] = t }
        idToToken = tokens
        var table: [UInt64: (Int32, Int32)] = [:]
        table.reserveCapacity(mergeIDs.count)
        for (rank, m) in mergeIDs.enumerated() {
            let key = UInt64(UInt32(m.left)) << 32 | UInt64(UInt32(m.right))
            if table[key] == nil { table[key] = (Int32(rank), m.merged) }
        }
        self.merges = table
        self.byteFallback = byteFallback
        unknownID = unknown.flatMap { vocab[$0] }
        self.fuseUnknown = fuseUnknown
        for (t, id) in vocab {
            let scalars = t.unicodeScalars
            if scalars.count == 1, let v = scalars.first?.value, v < 0x1000 { scalarIDs[Int(v)] = Int32(id) }
        }
        if byteFallback {
            byteIDs = (0..<256).map { vocab[BPEModel.byteToken(UInt8($0))] }
        }
    }

    /// "<0x0A>": the byte-fallback token of a byte.
    static func byteToken(_ b: UInt8) -> String {
        let hex = String(b, radix: 16, uppercase: true)
        return "<0x" + (hex.count == 1 ? "0" + hex : hex) + ">"
    }

    /// The ids of one word.
    func encode(_ word: String) throws -> [Int] {
        let shard = cache[(word.utf8.count &* 7 &+ Int(word.utf8.first ?? 0)) & 15]
        if let hit = shard.words.withLock({ $0[word] }) { return hit }
        var symbols: [Int] = []
        symbols.reserveCapacity(word.unicodeScalars.count)
        var lastWasUnknown = false
        for scalar in word.unicodeScalars {
            if scalar.value < 0x1000, scalarIDs[Int(scalar.value)] >= 0 {
                symbols.append(Int(scalarIDs[Int(scalar.value)]))
                lastWasUnknown = false
                continue
            }
            if scalar.value >= 0x1000, let id = vocab[String(scalar)] {
                symbols.append(id)
                lastWasUnknown = false
                continue
            }
            if byteFallback {
                let ids = String(scalar).utf8.map { byteIDs[Int($0)] }
                if ids.allSatisfy({ $0 != nil }) {
                    symbols += ids.map { $0! }
                    lastWasUnknown = false
                    continue
                }
            }
            guard let unk = unknownID else { throw TokenizerError("symbol '\(scalar)' is not in the vocabulary and there is no unknown token") }
            if !(fuseUnknown && lastWasUnknown) { symbols.append(unk) }
            lastWasUnknown = true
        }
        let result = mergeAll(symbols)
        shard.words.withLock { if $0.count < cacheLimit { $0[word] = result } }
        return result
    }

    /// Applies merges by rank with a heap over candidate pairs and a linked list of symbols.
    private func mergeAll(_ initial: [Int]) -> [Int] {
        let n = initial.count
        if n < 2 { return initial }
        if n <= 24 { return mergeShort(initial) }
        var ids = initial
        var next = Array(1...n), prev = Array(-1..<(n - 1))
        var alive = [Bool](repeating: true, count: n)
        var heap = MergeHeap()
        for i in 0..<(n - 1) {
            if let m = merges[UInt64(ids[i]) << 32 | UInt64(ids[i + 1])] { heap.push(.init(rank: m.rank, position: i, left: ids[i], right: ids[i + 1])) }
        }
        while let c = heap.pop() {
            let i = c.position
            guard alive[i], ids[i] == c.left else { continue }
            let j = next[i]
            guard j < n, alive[j], ids[j] == c.right, let m = merges[UInt64(c.left) << 32 | UInt64(c.right)] else { continue }
            ids[i] = Int(m.id)
            alive[j] = false
            next[i] = next[j]
            if next[j] < n { prev[next[j]] = i }
            if prev[i] >= 0, let pm = merges[UInt64(ids[prev[i]]) << 32 | UInt64(ids[i])] {
                heap.push(.init(rank: pm.rank, position: prev[i], left: ids[prev[i]], right: ids[i]))
            }
            if next[i] < n, let nm = merges[UInt64(ids[i]) << 32 | UInt64(ids[next[i]])] {
                heap.push(.init(rank: nm.rank, position: i, left: ids[i], right: ids[next[i]]))
            }
        }
        var out: [Int] = []
        var i = 0
        while i < n {
            out.append(ids[i])
            i = next[i]
        }
        return out
    }
}

extension BPEModel {
    /// The same merges for a short word without the heap: the rank of every adjacent pair in
    /// an array, the lowest (leftmost on ties) merged, its two neighbours' ranks refreshed.
    fileprivate func mergeShort(_ initial: [Int]) -> [Int] {
        var ids = initial
        func rank(_ i: Int) -> Int32 { merges[UInt64(ids[i]) << 32 | UInt64(ids[i + 1])]?.rank ?? .max }
        var ranks = (0..<(ids.count - 1)).map(rank)
        while let best = ranks.indices.min(by: { ranks[$0] < ranks[$1] || (ranks[$0] == ranks[$1] && $0 < $1) }), ranks[best] != .max {
            ids[best] = Int(merges[UInt64(ids[best]) << 32 | UInt64(ids[best + 1])]!.id)
            ids.remove(at: best + 1)
            ranks.remove(at: best)
            if best < ranks.count { ranks[best] = rank(best) }
            if best > 0 { ranks[best - 1] = rank(best - 1) }
        }
        return ids
    }
}

/// One lock-protected part of the word cache.
final class CacheShard: Sendable {
    let words = Mutex<[String: [Int]]>([:])
}

/// A min-heap of merge candidates ordered by (rank, position).
struct MergeHeap {
    struct Candidate {
        let rank: Int32
        let position: Int
        let left: Int
        let right: Int
        func before(_ o: Candidate) -> Bool { rank != o.rank ? rank < o.rank : position < o.position }
    }

    private var items: [Candidate] = []

    mutating func push(_ c: Candidate) {
        items.append(c)
        var i = items.count - 1
        while i > 0 {
            let p = (i - 1) / 2
            guard items[i].before(items[p]) else { break }
            items.swapAt(i, p)
            i = p
        }
    }

    mutating func pop() -> Candidate? {
        guard !items.isEmpty else { return nil }
        let top = items[0]
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            var i = 0
            while true {
                let l = 2 * i + 1, r = l + 1
                var m = i
                if l < items.count && items[l].before(items[m]) { m = l }
                if r < items.count && items[r].before(items[m]) { m = r }
                if m == i { break }
                items.swapAt(i, m)
                i = m
            }
        }
        return top
    }
}

/// A tokenizer file that Factory cannot use, or text it cannot encode.
public struct TokenizerError: Error, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
