import FactoryFormats
import FactoryJSON

/// A token added on top of the BPE vocabulary (`added_tokens` in tokenizer.json).
public struct AddedToken: Sendable {
    public let id: Int
    public let content: String
    public let special: Bool
}

/// A byte-level BPE tokenizer (GPT-2 style: SmolLM2, Llama 3, Qwen2) built from
/// tokenizer.json or GGUF metadata. Added tokens are matched in the text first
/// (leftmost, longest); with `splitSpecial` special tokens are read as plain
/// text instead (transformers' split_special_tokens=True).
public final class Tokenizer {
    let model: BPEModel
    public let addedTokens: [AddedToken]
    private let addedByContent: [String: AddedToken]
    private let addedByID: [Int: AddedToken]
    public let bosID: Int?
    public let eosID: Int?

    init(model: BPEModel, added: [AddedToken], bos: Int?, eos: Int?) {
        self.model = model
        addedTokens = added
        var byContent: [String: AddedToken] = [:], byID: [Int: AddedToken] = [:]
        for t in added { byContent[t.content] = t; byID[t.id] = t }
        addedByContent = byContent
        addedByID = byID
        bosID = bos
        eosID = eos
    }

    /// Vocabulary size (largest id + 1).
    public var vocabularySize: Int { max(model.idToToken.count, (addedTokens.map(\.id).max() ?? -1) + 1) }

    /// The id of a token string (vocabulary or added), or nil.
    public func id(of token: String) -> Int? { addedByContent[token]?.id ?? model.vocab[token] }

    /// Encodes `text`; special-token strings become their ids unless `splitSpecial`.
    public func encode(_ text: String, splitSpecial: Bool = false) throws -> [Int] {
        var ids: [Int] = []
        for (segment, added) in splitOnAddedTokens(text, splitSpecial: splitSpecial) {
            if let added {
                ids.append(added.id)
                continue
            }
            let scalars = Array(segment.unicodeScalars)
            for piece in GPT2PreTokenizer.split(scalars) {
                var s = String.UnicodeScalarView()
                s.append(contentsOf: scalars[piece])
                ids += try model.encode(ByteLevel.encode(String(s).utf8))
            }
        }
        return ids
    }

    /// Token strings of ids (byte-level form, "Ġ" for spaces).
    public func tokens(_ ids: [Int]) -> [String] {
        ids.map { addedByID[$0]?.content ?? (($0 >= 0 && $0 < model.idToToken.count) ? model.idToToken[$0] : "") }
    }

    /// Decodes ids to text; invalid UTF-8 becomes U+FFFD as in HF's lossy decode.
    public func decode(_ ids: [Int], skipSpecial: Bool = false) -> String {
        var bytes: [UInt8] = []
        for id in ids {
            if let added = addedByID[id] {
                if skipSpecial && added.special { continue }
                bytes += Array(added.content.utf8)
                continue
            }
            guard id >= 0 && id < model.idToToken.count else { continue }
            for c in model.idToToken[id] {
                if let b = ByteLevel.charToByte[c] { bytes.append(b) } else { bytes += Array(String(c).utf8) }
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The text cut into plain segments and added tokens (leftmost, then longest match).
    func splitOnAddedTokens(_ text: String, splitSpecial: Bool) -> [(Substring, AddedToken?)] {
        let candidates = addedTokens.filter { !(splitSpecial && $0.special) }
        guard !candidates.isEmpty, !text.isEmpty else { return [(text[...], nil)] }
        let firstScalars = Set(candidates.compactMap { $0.content.unicodeScalars.first })
        var result: [(Substring, AddedToken?)] = []
        var plainStart = text.startIndex
        var i = text.startIndex
        let scalars = text.unicodeScalars
        while i < text.endIndex {
            let s = scalars[i]
            if firstScalars.contains(s) {
                var best: AddedToken?
                for t in candidates where text[i...].hasPrefix(t.content) && t.content.utf8.count > (best?.content.utf8.count ?? 0) {
                    best = t
                }
                if let best {
                    if plainStart < i { result.append((text[plainStart..<i], nil)) }
                    result.append((text[i..<i], best))
                    i = text.unicodeScalars.index(i, offsetBy: best.content.unicodeScalars.count)
                    plainStart = i
                    continue
                }
            }
            i = scalars.index(after: i)
        }
        if plainStart < text.endIndex { result.append((text[plainStart...], nil)) }
        return result
    }
}
