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
            let tokenizer = Tokenizer(model: bpe, added: added, bos: nil, eos: nil, normalizer: normalizer, preTokenization: pre, decoder: decoder)
            (tokenizer.specialPrefix, tokenizer.specialSuffix) = try templateProcessing(json["post_processor"], tokenizer: tokenizer)
            return tokenizer
        } catch let e as TokenizerError {
            throw TokenizerError("\(path): \(e.message)")
        }
    }

    /// The special tokens tokenizer.json's post_processor puts around a single text: a TemplateProcessing
    /// (alone or in a Sequence, beside ByteLevel, which only moves offsets); none for any other.
    static func templateProcessing(_ json: JSON?, tokenizer: Tokenizer) throws -> ([Int], [Int]) {
        guard let json, json != .null else { return ([], []) }
        let template: JSON
        switch json["type"]?.stringValue {
        case "TemplateProcessing": template = json
        case "Sequence":
            guard let t = (json["processors"]?.arrayValue ?? []).first(where: { $0["type"]?.stringValue == "TemplateProcessing" }) else { return ([], []) }
            template = t
        default: return ([], [])
        }
        var prefix: [Int] = [], suffix: [Int] = [], seenText = false
        for piece in template["single"]?.arrayValue ?? [] {
            if piece["Sequence"] != nil { seenText = true; continue }
            guard let name = piece["SpecialToken"]?["id"]?.stringValue else { continue }
            guard let ids = template["special_tokens"]?[name]?["ids"]?.arrayValue?.compactMap({ $0.intValue.map(Int.init) }) ?? tokenizer.id(of: name).map({ [$0] }) else {
                throw TokenizerError("post_processor: special token '\(name)' has no id")
            }
            if seenText { suffix += ids } else { prefix += ids }
        }
        return (prefix, suffix)
    }

    /// A tokenizer from GGUF metadata, as transformers 5 builds it from the same file (see GGUFTokenizerRecipe).
    public static func load(gguf metadata: GGUFMetadata, file: String) throws -> Tokenizer {
        do { return try GGUFTokenizerRecipe(metadata, file: file).tokenizer() } catch let e as TokenizerError {
            throw e.message.hasPrefix(file) ? e : TokenizerError("\(file): \(e.message)")
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
