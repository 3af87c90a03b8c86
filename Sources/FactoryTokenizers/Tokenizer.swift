import FactoryFormats
import FactoryJSON

/// A token added on top of the BPE vocabulary (`added_tokens` in tokenizer.json).
public struct AddedToken: Sendable {
    public let id: Int
    public let content: String
    public let special: Bool
}

/// A BPE tokenizer: byte-level (GPT-2 style: SmolLM2, Llama 3, Qwen2) or
/// SentencePiece-style with byte fallback (Llama 2, Mistral, Gemma), built from
/// tokenizer.json or GGUF metadata. Added tokens are matched in the text first
/// (leftmost, longest); with `splitSpecial` special tokens are read as plain
/// text instead (transformers' split_special_tokens=True). Then each plain
/// segment is normalized, cut into words, and BPE-encoded; decoding runs the
/// tokenizer's decoder chain.
public final class Tokenizer {
    let model: BPEModel
    let normalizer: [NormalizerStep]
    let preTokenization: PreTokenization
    let decoder: [DecoderStep]
    public let addedTokens: [AddedToken]
    private let addedByContent: [String: AddedToken]
    private let addedByID: [Int: AddedToken]
    public let bosID: Int?
    public let eosID: Int?

    init(model: BPEModel, added: [AddedToken], bos: Int?, eos: Int?, normalizer: [NormalizerStep] = [],
         preTokenization: PreTokenization = .byteLevel, decoder: [DecoderStep] = [.byteLevel]) {
        self.model = model
        self.normalizer = normalizer
        self.preTokenization = preTokenization
        self.decoder = decoder
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
            let normalized = NormalizerStep.apply(normalizer, String(segment))
            for word in preTokenization.words(normalized, atStart: segment.startIndex == text.startIndex) {
                ids += try model.encode(word)
            }
        }
        return ids
    }

    /// Token strings of ids (byte-level form, "Ġ" for spaces).
    public func tokens(_ ids: [Int]) -> [String] {
        ids.map { addedByID[$0]?.content ?? (($0 >= 0 && $0 < model.idToToken.count) ? model.idToToken[$0] : "") }
    }

    /// Decodes ids to text through the decoder chain (invalid UTF-8 becomes U+FFFD, as in HF).
    public func decode(_ ids: [Int], skipSpecial: Bool = false) -> String {
        var tokens: [String] = []
        tokens.reserveCapacity(ids.count)
        for id in ids {
            if let added = addedByID[id] {
                if !(skipSpecial && added.special) { tokens.append(added.content) }
            } else if id >= 0 && id < model.idToToken.count {
                tokens.append(model.idToToken[id])
            }
        }
        return DecoderStep.decode(decoder, tokens)
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
