/// Byte-pair encoding over byte-level symbols: merges applied by rank, lowest
/// first, until none applies (tokenizers' BPE model, no dropout). Each distinct
/// pre-token is encoded once and cached.
final class BPEModel {
    let vocab: [String: Int]
    let idToToken: [String]
    /// (left id, right id) → (rank, merged id).
    private let merges: [UInt64: (rank: Int32, id: Int32)]
    private var cache: [String: [Int]] = [:]
    private let cacheLimit = 200_000

    init(vocab: [String: Int], merges: [(String, String)]) throws {
        self.vocab = vocab
        var tokens = [String](repeating: "", count: (vocab.values.max() ?? -1) + 1)
        for (t, id) in vocab { tokens[id] = t }
        idToToken = tokens
        var table: [UInt64: (Int32, Int32)] = [:]
        table.reserveCapacity(merges.count)
        for (rank, (a, b)) in merges.enumerated() {
            guard let ia = vocab[a], let ib = vocab[b], let merged = vocab[a + b] else {
                throw TokenizerError("merge \(rank) '\(a) \(b)' uses a token that is not in the vocabulary")
            }
            let key = UInt64(ia) << 32 | UInt64(ib)
            if table[key] == nil { table[key] = (Int32(rank), Int32(merged)) }
        }
        self.merges = table
    }

    /// The ids of one byte-level-mapped pre-token.
    func encode(_ word: String) throws -> [Int] {
        if let hit = cache[word] { return hit }
        var symbols: [Int] = []
        symbols.reserveCapacity(word.count)
        for c in word {
            guard let id = vocab[String(c)] else { throw TokenizerError("symbol '\(c)' is not in the vocabulary") }
            symbols.append(id)
        }
        while symbols.count > 1 {
            var best: (rank: Int32, index: Int, id: Int32)?
            for i in 0..<(symbols.count - 1) {
                if let m = merges[UInt64(symbols[i]) << 32 | UInt64(symbols[i + 1])], best == nil || m.rank < best!.rank {
                    best = (m.rank, i, m.id)
                }
            }
            guard let b = best else { break }
            // Merge every non-overlapping occurrence of that pair, left to right.
            let left = symbols[b.index], right = symbols[b.index + 1]
            var merged: [Int] = []
            merged.reserveCapacity(symbols.count)
            var i = 0
            while i < symbols.count {
                if i + 1 < symbols.count && symbols[i] == left && symbols[i + 1] == right {
                    merged.append(Int(b.id))
                    i += 2
                } else {
                    merged.append(symbols[i])
                    i += 1
                }
            }
            symbols = merged
        }
        if cache.count < cacheLimit { cache[word] = symbols }
        return symbols
    }
}

/// A tokenizer file that Factory cannot use, or text it cannot encode.
public struct TokenizerError: Error, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
