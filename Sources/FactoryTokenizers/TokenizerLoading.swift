import FactoryFormats
import FactoryJSON

extension Tokenizer {
    /// A tokenizer from a Hugging Face tokenizer.json (a BPE model; byte-level or SentencePiece-style).
    public static func load(tokenizerJSON path: String) throws -> Tokenizer {
        let file: MappedFile
        do { file = try MappedFile(path: path) } catch { throw TokenizerError("\(path): cannot read") }
        let json: JSON
        do { json = try JSON.parse(bytes: file.buffer) } catch { throw TokenizerError("\(path): \(error)") }
        return try load(tokenizerJSON: json, source: path)
    }

    /// A tokenizer from parsed tokenizer.json content; `source` names it in errors.
    public static func load(tokenizerJSON json: JSON, source path: String) throws -> Tokenizer {
        guard let model = json["model"]?.objectValue, model["type"]?.stringValue == "BPE" else {
            throw TokenizerError("\(path): model.type is \(json["model"]?["type"]?.serialized() ?? "missing"); Factory reads BPE tokenizers")
        }
        let normalizer: [NormalizerStep], pre: PreTokenization, decoder: [DecoderStep]
        do {
            normalizer = try NormalizerStep.parse(json["normalizer"])
            pre = try PreTokenization.parse(json["pre_tokenizer"])
            decoder = try DecoderStep.parse(json["decoder"])
        } catch let e as TokenizerError {
            throw TokenizerError("\(path): \(e.message)")
        }
        guard let vocabJSON = model["vocab"]?.objectValue else { throw TokenizerError("\(path): model.vocab is missing") }
        var vocab: [String: Int] = [:]
        vocab.reserveCapacity(vocabJSON.count)
        for (token, id) in vocabJSON.pairs {
            guard let n = id.intValue else { throw TokenizerError("\(path): vocab entry '\(token)' has no integer id") }
            vocab[token] = Int(n)
        }
        var merges: [(String, String)] = []
        for (i, m) in (model["merges"]?.arrayValue ?? []).enumerated() {
            if let pair = m.arrayValue, pair.count == 2, let a = pair[0].stringValue, let b = pair[1].stringValue {
                merges.append((a, b))
            } else if let s = m.stringValue, let space = s.firstIndex(of: " ") {
                merges.append((String(s[..<space]), String(s[s.index(after: space)...])))
            } else {
                throw TokenizerError("\(path): merge \(i) is neither \"a b\" nor [a, b]")
            }
        }
        let added = (json["added_tokens"]?.arrayValue ?? []).compactMap { t -> AddedToken? in
            guard let id = t["id"]?.intValue, let content = t["content"]?.stringValue else { return nil }
            return AddedToken(id: Int(id), content: content, special: t["special"]?.boolValue ?? false)
        }
        do {
            let bpe = try BPEModel(vocab: vocab, merges: merges, byteFallback: model["byte_fallback"]?.boolValue ?? false,
                                   unknown: model["unk_token"]?.stringValue, fuseUnknown: model["fuse_unk"]?.boolValue ?? false)
            return Tokenizer(model: bpe, added: added, bos: nil, eos: nil, normalizer: normalizer, preTokenization: pre, decoder: decoder)
        } catch let e as TokenizerError {
            throw TokenizerError("\(path): \(e.message)")
        }
    }

    /// A tokenizer from GGUF metadata: `tokenizer.ggml.model` "gpt2" (byte-level BPE with merges) or
    /// "llama" (SentencePiece: tokens and scores; the merges are rebuilt from the scores and the text
    /// is cut with Metaspace, as transformers' LlamaTokenizer does when it reads a GGUF).
    public static func load(gguf metadata: GGUFMetadata, file: String) throws -> Tokenizer {
        let kind = metadata.string("tokenizer.ggml.model")
        guard kind == "gpt2" || kind == "llama" else {
            throw TokenizerError("\(file): tokenizer.ggml.model is \(kind ?? "missing"); Factory reads gpt2 (byte-level BPE) and llama (SentencePiece BPE)")
        }
        guard case .array(let tokenValues)? = metadata.values["tokenizer.ggml.tokens"] else {
            throw TokenizerError("\(file): tokenizer.ggml.tokens is missing")
        }
        let tokens = tokenValues.map { $0.stringValue ?? "" }
        var types: [Int] = []
        if case .array(let t)? = metadata.values["tokenizer.ggml.token_type"] {
            types = t.map { v in if case .int(let i) = v { return Int(i) }; if case .uint(let u) = v { return Int(u) }; return 1 }
        }
        var vocab: [String: Int] = [:]
        var added: [AddedToken] = []
        for (id, token) in tokens.enumerated() {
            // token types: 1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte
            let type = id < types.count ? types[id] : 1
            if type == 3 || type == 4 {
                added.append(AddedToken(id: id, content: token, special: type == 3 || token.hasPrefix("<|")))
            }
            vocab[token] = id
        }
        let bos = metadata.int("tokenizer.ggml.bos_token_id"), eos = metadata.int("tokenizer.ggml.eos_token_id")
        do {
            if kind == "gpt2" {
                var merges: [(String, String)] = []
                if case .array(let m)? = metadata.values["tokenizer.ggml.merges"] {
                    for v in m {
                        guard let s = v.stringValue, let space = s.firstIndex(of: " ") else { throw TokenizerError("a merge is not \"a b\"") }
                        merges.append((String(s[..<space]), String(s[s.index(after: space)...])))
                    }
                }
                return Tokenizer(model: try BPEModel(vocab: vocab, merges: merges), added: added, bos: bos, eos: eos)
            }
            guard case .array(let scoreValues)? = metadata.values["tokenizer.ggml.scores"], scoreValues.count == tokens.count else {
                throw TokenizerError("tokenizer.ggml.scores is missing or does not match the tokens")
            }
            let scores = scoreValues.map { v -> Double in if case .float(let f) = v { return f }; return 0 }
            let unknown = metadata.int("tokenizer.ggml.unknown_token_id").flatMap { $0 < tokens.count ? tokens[$0] : nil } ?? "<unk>"
            let model = try BPEModel(vocab: vocab, merges: mergesFromScores(tokens: tokens, scores: scores, vocab: vocab), byteFallback: true,
                                     unknown: unknown, fuseUnknown: true)
            return Tokenizer(model: model, added: added, bos: bos, eos: eos, normalizer: [],
                             preTokenization: .metaspace(replacement: "▁", scheme: .first, split: false),
                             decoder: [.replace("▁", " "), .byteFallback, .fuse, .strip(" ", start: 1, stop: 0)])
        } catch let e as TokenizerError {
            throw TokenizerError("\(file): \(e.message)")
        }
    }

    /// transformers' generate_merges: every split of every token into two vocabulary pieces,
    /// ordered by the token's score (best first), then by longer left and longer right piece;
    /// ties keep token order, and a token's own splits are ordered by the pieces' ids.
    static func mergesFromScores(tokens: [String], scores: [Double], vocab: [String: Int]) -> [(String, String)] {
        var candidates: [(left: String, right: String, score: Double, leftLength: Int, rightLength: Int, order: Int)] = []
        var seen = Set<String>()
        // Python iterates the dict built from zip(tokens, scores): the first position of each token, its last score.
        var lastScore: [String: Double] = [:]
        for (t, s) in zip(tokens, scores) { lastScore[t] = s }
        for token in tokens where seen.insert(token).inserted {
            let scalars = Array(token.unicodeScalars)
            guard scalars.count > 1 else { continue }
            var local: [(String, String, Int, Int)] = []
            for i in 1..<scalars.count {
                var l = String.UnicodeScalarView(), r = String.UnicodeScalarView()
                l.append(contentsOf: scalars[..<i])
                r.append(contentsOf: scalars[i...])
                let left = String(l), right = String(r)
                if let li = vocab[left], let ri = vocab[right] { local.append((left, right, li, ri)) }
            }
            local.sort { ($0.2, $0.3) < ($1.2, $1.3) }
            for (left, right, _, _) in local {
                candidates.append((left, right, lastScore[token] ?? 0, left.unicodeScalars.count, right.unicodeScalars.count, candidates.count))
            }
        }
        candidates.sort { a, b in
            if a.score != b.score { return a.score > b.score }
            if a.leftLength != b.leftLength { return a.leftLength > b.leftLength }
            if a.rightLength != b.rightLength { return a.rightLength > b.rightLength }
            return a.order < b.order
        }
        return candidates.map { ($0.left, $0.right) }
    }
}
