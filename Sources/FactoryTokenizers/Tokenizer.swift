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
    /// The special tokens `encode(_:addSpecialTokens: true)` puts around a text, as transformers'
    /// tokenizer(text) does: tokenizer.json's TemplateProcessing, or a GGUF's add_bos_token / add_eos_token.
    public internal(set) var specialPrefix: [Int] = [], specialSuffix: [Int] = []
    /// Added tokens matched in text (all, or the non-special ones with splitSpecial) and the
    /// scalars they start with: computed once, not per encode call.
    private let matchers: (all: ([(AddedToken, [UInt8])], [Bool]), plain: ([(AddedToken, [UInt8])], [Bool]))

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
        func matcher(_ tokens: [AddedToken]) -> ([(AddedToken, [UInt8])], [Bool]) {
            var first = [Bool](repeating: false, count: 256)
            let withBytes: [(AddedToken, [UInt8])] = tokens.filter { !$0.content.isEmpty }.map { t in (t, Array(t.content.utf8)) }
            for (_, bytes) in withBytes { first[Int(bytes[0])] = true }
            return (withBytes, first)
        }
        matchers = (matcher(added), matcher(added.filter { !$0.special }))
    }

    /// This tokenizer with `tokens` added as transformers' add_tokens adds them: each not already a token
    /// (of the vocabulary or added) gets the next id; returns the tokenizer and the tokens that were new.
    public func adding(_ tokens: [String], special: Bool) -> (Tokenizer, added: [String]) {
        var added = addedTokens, new: [String] = [], next = vocabularySize
        for token in tokens where !token.isEmpty && id(of: token) == nil && !new.contains(token) {
            added.append(AddedToken(id: next, content: token, special: special))
            new.append(token)
            next += 1
        }
        guard !new.isEmpty else { return (self, []) }
        let t = Tokenizer(model: model, added: added, bos: bosID, eos: eosID, normalizer: normalizer, preTokenization: preTokenization, decoder: decoder)
        (t.specialPrefix, t.specialSuffix) = (specialPrefix, specialSuffix)
        return (t, new)
    }

    /// Vocabulary size (largest id + 1).
    public var vocabularySize: Int { max(model.idToToken.count, (addedTokens.map(\.id).max() ?? -1) + 1) }

    /// The id of a token string (vocabulary or added), or nil.
    public func id(of token: String) -> Int? { addedByContent[token]?.id ?? model.vocab[token] }

    /// Encodes `text` as transformers' tokenizer(text) does: with the tokenizer's special prefix and
    /// suffix (a BOS, say) around it when `addSpecialTokens`.
    public func encode(_ text: String, splitSpecial: Bool = false, addSpecialTokens: Bool) throws -> [Int] {
        let ids = try encode(text, splitSpecial: splitSpecial)
        return addSpecialTokens ? specialPrefix + ids + specialSuffix : ids
    }

    /// Encodes `text` alone (add_special_tokens=False); special-token strings become their ids unless `splitSpecial`.
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
        let (candidates, firstBytes) = splitSpecial ? matchers.plain : matchers.all
        guard !candidates.isEmpty, !text.isEmpty else { return [(text[...], nil)] }
        // On UTF-8 bytes: a token's first byte is never a continuation byte, so matches fall on
        // scalar boundaries; leftmost, then longest.
        let utf8 = text.utf8
        var result: [(Substring, AddedToken?)] = []
        var plainStart = utf8.startIndex
        var i = utf8.startIndex
        while i < utf8.endIndex {
            if firstBytes[Int(utf8[i])] {
                var best: (token: AddedToken, length: Int)?
                let rest = utf8[i...]
                for (t, bytes) in candidates where bytes.count > (best?.length ?? 0) && rest.starts(with: bytes) {
                    best = (t, bytes.count)
                }
                if let best {
                    if plainStart < i { result.append((text[plainStart..<i], nil)) }
                    result.append((text[i..<i], best.token))
                    i = utf8.index(i, offsetBy: best.length)
                    plainStart = i
                    continue
                }
            }
            i = utf8.index(after: i)
        }
        if plainStart < utf8.endIndex { result.append((text[plainStart...], nil)) }
        return result
    }
}
