import FactoryFormats
import FactoryJSON

extension Tokenizer {
    /// A tokenizer from a Hugging Face tokenizer.json (model type BPE with a ByteLevel pre-tokenizer).
    public static func load(tokenizerJSON path: String) throws -> Tokenizer {
        let file: MappedFile
        do { file = try MappedFile(path: path) } catch { throw TokenizerError("\(path): cannot read") }
        let json: JSON
        do { json = try JSON.parse(bytes: file.buffer) } catch { throw TokenizerError("\(path): \(error)") }
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

    /// A tokenizer from GGUF metadata (`tokenizer.ggml.model` "gpt2": tokens, merges, token types).
    public static func load(gguf metadata: GGUFMetadata, file: String) throws -> Tokenizer {
        guard metadata.string("tokenizer.ggml.model") == "gpt2" else {
            throw TokenizerError("\(file): tokenizer.ggml.model is \(metadata.string("tokenizer.ggml.model") ?? "missing"); Factory reads gpt2 (byte-level BPE) from GGUF; for SentencePiece models use the Hugging Face directory's tokenizer.json")
        }
        guard case .array(let tokenValues)? = metadata.values["tokenizer.ggml.tokens"] else {
            throw TokenizerError("\(file): tokenizer.ggml.tokens is missing")
        }
        let tokens = tokenValues.map { $0.stringValue ?? "" }
        var types: [Int] = []
        if case .array(let t)? = metadata.values["tokenizer.ggml.token_type"] {
            types = t.map { v in if case .int(let i) = v { return Int(i) }; if case .uint(let u) = v { return Int(u) }; return 1 }
        }
        var merges: [(String, String)] = []
        if case .array(let m)? = metadata.values["tokenizer.ggml.merges"] {
            for v in m {
                guard let s = v.stringValue, let space = s.firstIndex(of: " ") else { throw TokenizerError("\(file): a merge is not \"a b\"") }
                merges.append((String(s[..<space]), String(s[s.index(after: space)...])))
            }
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
        do {
            return Tokenizer(model: try BPEModel(vocab: vocab, merges: merges), added: added,
                             bos: metadata.int("tokenizer.ggml.bos_token_id"), eos: metadata.int("tokenizer.ggml.eos_token_id"))
        } catch let e as TokenizerError {
            throw TokenizerError("\(file): \(e.message)")
        }
    }
}
