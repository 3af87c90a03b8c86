import FactoryFormats
import FactoryJSON

extension Tokenizer {
    /// A tokenizer from a Hugging Face tokenizer.json (a BPE model; byte-level or SentencePiece-style), its
    /// BOS and EOS named by the tokenizer_config.json beside it (bos_token, eos_token), as transformers reads them.
    public static func load(tokenizerJSON path: String) throws -> Tokenizer {
        let file: MappedFile
        do { file = try MappedFile(path: path) } catch { throw TokenizerError("\(path): cannot read") }
        let json: JSON
        do { json = try JSON.parse(bytes: file.buffer) } catch { throw TokenizerError("\(path): \(error)") }
        let configPath = String(path[..<(path.lastIndex(of: "/").map { path.index(after: $0) } ?? path.startIndex)]) + "tokenizer_config.json"
        let config = (try? MappedFile(path: configPath)).flatMap { try? JSON.parse(bytes: $0.buffer) }
        func token(_ key: String) -> String? { config?[key]?.stringValue ?? config?[key]?["content"]?.stringValue }
        return try load(tokenizerJSON: json, source: path, bos: token("bos_token"), eos: token("eos_token"))
    }

    /// A tokenizer from parsed tokenizer.json content; `source` names it in errors; `bos` and `eos` the
    /// special tokens' texts (tokenizer_config.json's), when known.
    public static func load(tokenizerJSON json: JSON, source path: String, bos: String? = nil, eos: String? = nil) throws -> Tokenizer {
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
            func id(_ text: String?) -> Int? { text.flatMap { t in added.first { $0.content == t }?.id ?? vocab[t] } }
            let tokenizer = Tokenizer(model: bpe, added: added, bos: id(bos), eos: id(eos), normalizer: normalizer, preTokenization: pre, decoder: decoder)
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

    /// transformers' generate_merges as token pairs (MergesFromScores computes them as ids).
    static func mergesFromScores(tokens: [String], scores: [Double], vocab: [String: Int]) -> [(String, String)] {
        MergesFromScores.merges(tokens: tokens, scores: scores).map { (tokens[Int($0.left)], tokens[Int($0.right)]) }
    }
}
