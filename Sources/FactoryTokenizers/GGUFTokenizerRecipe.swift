import FactoryFormats
import FactoryJSON

/// What a GGUF file's tokenizer metadata makes, decided once: the vocabulary, the merges, the
/// normalizer, pre-tokenizer and decoder, and the special tokens around a text. Both the Tokenizer
/// Factory encodes with and the tokenizer.json written beside a model trained from the file
/// (HFTokenizerFiles) come from it, so the two never disagree.
///
/// As transformers 5 builds it from the same file (integrations/gguf/gguf_tokenizer_mapping.py):
/// "gpt2" = byte-level BPE with the file's merges (after Llama 3's or Qwen2's split when tokenizer.ggml.pre
/// names one of theirs); "llama" = SentencePiece BPE with byte fallback and
/// merges rebuilt from the scores, cut with Metaspace — except Gemma's vocabularies (architectures gemma,
/// gemma2, gemma3: no prefix space, spaces replaced by "▁", runs of spaces stored as spaces respelled
/// "▁▁…", merges ordered by the tokens' place in the file) and Phi-3's (a "▁" prepended by the
/// normalizer). BOS / EOS around a text from add_bos_token / add_eos_token (BOS by default for
/// SentencePiece, as llama.cpp and transformers do).
struct GGUFTokenizerRecipe {
    let kind: String
    let tokens: [String]
    let vocab: [String: Int]
    /// The file's merges (gpt2), or those rebuilt from the scores, as ids (SentencePiece).
    let fileMerges: [(String, String)]
    let mergeIDs: [MergesFromScores.Merge]
    /// The merges as token pairs (what tokenizer.json lists).
    var merges: [(String, String)] { kind == "gpt2" ? fileMerges : mergeIDs.map { (tokens[Int($0.left)], tokens[Int($0.right)]) } }
    let added: [AddedToken]
    let normalizer: [NormalizerStep]
    let preTokenization: PreTokenization
    let decoder: [DecoderStep]
    /// SentencePiece's byte fallback and unknown token (nil for byte-level).
    let unknown: String?
    let bos: Int?, eos: Int?
    let addBOS: Bool, addEOS: Bool

    init(_ metadata: GGUFMetadata, file: String) throws {
        guard let kind = metadata.string("tokenizer.ggml.model"), kind == "gpt2" || kind == "llama" else {
            throw TokenizerError("\(file): tokenizer.ggml.model is \(metadata.string("tokenizer.ggml.model") ?? "missing"); "
                                 + "Factory reads gpt2 (byte-level BPE) and llama (SentencePiece BPE)")
        }
        guard case .array(let tokenValues)? = metadata.values["tokenizer.ggml.tokens"] else { throw TokenizerError("\(file): tokenizer.ggml.tokens is missing") }
        let architecture = metadata.string("general.architecture") ?? ""
        let gemma = kind == "llama" && ["gemma", "gemma2", "gemma3"].contains(architecture)
        self.kind = kind
        tokens = tokenValues.map { v -> String in
            let t = v.stringValue ?? ""
            // Gemma files store a token of two or more spaces as spaces; its tokenizer looks them up as "▁"
            return gemma && t.unicodeScalars.count > 1 && t.allSatisfy({ $0 == " " }) ? String(repeating: "▁", count: t.unicodeScalars.count) : t
        }
        var types: [Int] = []
        if case .array(let t)? = metadata.values["tokenizer.ggml.token_type"] {
            types = t.map { v in if case .int(let i) = v { return Int(i) }; if case .uint(let u) = v { return Int(u) }; return 1 }
        }
        var vocab: [String: Int] = [:], added: [AddedToken] = []
        for (id, token) in tokens.enumerated() {
            // token types: 1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte
            let type = id < types.count ? types[id] : 1
            if type == 3 || type == 4 { added.append(AddedToken(id: id, content: token, special: type == 3 || token.hasPrefix("<|"))) }
            vocab[token] = id
        }
        (self.vocab, self.added) = (vocab, added)
        (bos, eos) = (metadata.int("tokenizer.ggml.bos_token_id"), metadata.int("tokenizer.ggml.eos_token_id"))
        func flag(_ key: String) -> Bool? { if case .bool(let b)? = metadata.values[key] { return b }; return nil }
        addBOS = flag("tokenizer.ggml.add_bos_token") ?? (kind == "llama")
        addEOS = flag("tokenizer.ggml.add_eos_token") ?? false
        if kind == "gpt2" {
            var merges: [(String, String)] = []
            if case .array(let m)? = metadata.values["tokenizer.ggml.merges"] {
                for v in m {
                    guard let s = v.stringValue, let space = s.firstIndex(of: " ") else { throw TokenizerError("\(file): a merge is not \"a b\"") }
                    merges.append((String(s[..<space]), String(s[s.index(after: space)...])))
                }
            }
            (fileMerges, mergeIDs) = (merges, [])
            let split = try SplitPattern.forGGUF(pre: metadata.string("tokenizer.ggml.pre"))
            (normalizer, preTokenization, decoder, unknown) = ([], split.map { .split($0) } ?? .byteLevel, [.byteLevel], nil)
            return
        }
        guard case .array(let scoreValues)? = metadata.values["tokenizer.ggml.scores"], scoreValues.count == tokens.count else {
            throw TokenizerError("\(file): tokenizer.ggml.scores is missing or does not match the tokens")
        }
        // Gemma's scores do not follow its merge order; the tokens' order in the file does
        let list = tokens
        let scores = gemma ? list.indices.map { -Double($0) } : scoreValues.map { v -> Double in if case .float(let f) = v { return f }; return 0 }
        (fileMerges, mergeIDs) = ([], MergesFromScores.merges(tokens: list, scores: scores))
        unknown = metadata.int("tokenizer.ggml.unknown_token_id").flatMap { $0 < list.count ? list[$0] : nil } ?? "<unk>"
        let sentencePieceDecoder: [DecoderStep] = [.replace("▁", " "), .byteFallback, .fuse, .strip(" ", start: 1, stop: 0)]
        if gemma {
            (normalizer, preTokenization, decoder) = ([.replace(" ", "▁")], .none, [.replace("▁", " "), .byteFallback, .fuse])
        } else if architecture == "phi3" {
            (normalizer, preTokenization, decoder) = ([.prepend("▁"), .replace(" ", "▁")], .none, sentencePieceDecoder)
        } else {
            (normalizer, preTokenization, decoder) = ([], .metaspace(replacement: "▁", scheme: .first, split: false), sentencePieceDecoder)
        }
    }

    func tokenizer() throws -> Tokenizer {
        let model = unknown == nil ? try BPEModel(vocab: vocab, merges: fileMerges)
            : BPEModel(vocab: vocab, mergeIDs: mergeIDs, byteFallback: true, unknown: unknown, fuseUnknown: true)
        let t = Tokenizer(model: model, added: added, bos: bos, eos: eos, normalizer: normalizer, preTokenization: preTokenization, decoder: decoder)
        if addBOS, let bos { t.specialPrefix = [bos] }
        if addEOS, let eos { t.specialSuffix = [eos] }
        return t
    }
}
