import FactoryFormats
import FactoryJSON

/// The Hugging Face tokenizer files (tokenizer.json, tokenizer_config.json, special_tokens_map.json)
/// for a GGUF model's tokenizer, so that a model fine-tuned from a GGUF base and saved as safetensors
/// loads in transformers (and in Factory) with its tokenizer. The pipelines are the ones Factory reads
/// the GGUF with: "gpt2" = byte-level BPE (no normalizer, ByteLevel pre-tokenizer and decoder); "llama"
/// = SentencePiece BPE with byte fallback, Metaspace and merges rebuilt from the scores.
public enum HFTokenizerFiles {
    /// File name → contents.
    public static func fromGGUF(_ metadata: GGUFMetadata, file: String) throws -> [(String, JSON)] {
        let kind = metadata.string("tokenizer.ggml.model")
        guard kind == "gpt2" || kind == "llama", case .array(let tokenValues)? = metadata.values["tokenizer.ggml.tokens"] else {
            throw TokenizerError("\(file): no gpt2 or llama tokenizer to write as tokenizer.json")
        }
        let tokens = tokenValues.map { $0.stringValue ?? "" }
        var types: [Int] = []
        if case .array(let t)? = metadata.values["tokenizer.ggml.token_type"] {
            types = t.map { v in if case .int(let i) = v { return Int(i) }; if case .uint(let u) = v { return Int(u) }; return 1 }
        }
        var vocab = JSONObject()
        var added: [JSON] = []
        for (id, token) in tokens.enumerated() {
            vocab[token] = .int(Int64(id))
            let type = id < types.count ? types[id] : 1
            if type == 3 || type == 4 {  // control and user-defined tokens are added tokens, as Factory reads them
                added.append(.object(JSONObject([
                    ("id", .int(Int64(id))), ("content", .string(token)), ("single_word", false), ("lstrip", false), ("rstrip", false),
                    ("normalized", false), ("special", .bool(type == 3 || token.hasPrefix("<|"))),
                ])))
            }
        }
        let merges: [JSON]
        var model = JSONObject([("type", "BPE"), ("dropout", .null)])
        let pre: JSON, decoder: JSON
        if kind == "gpt2" {
            var pairs: [JSON] = []
            if case .array(let m)? = metadata.values["tokenizer.ggml.merges"] {
                for v in m {
                    guard let s = v.stringValue, let space = s.firstIndex(of: " ") else { throw TokenizerError("\(file): a merge is not \"a b\"") }
                    pairs.append(.array([.string(String(s[..<space])), .string(String(s[s.index(after: space)...]))]))
                }
            }
            merges = pairs
            for (k, v) in [("unk_token", JSON.null), ("continuing_subword_prefix", .null), ("end_of_word_suffix", .null), ("fuse_unk", false),
                           ("byte_fallback", false), ("ignore_merges", false)] { model[k] = v }
            let byteLevel = JSONObject([("type", "ByteLevel"), ("add_prefix_space", false), ("trim_offsets", true), ("use_regex", true)])
            pre = .object(byteLevel)
            decoder = .object(byteLevel)
        } else {
            guard case .array(let scoreValues)? = metadata.values["tokenizer.ggml.scores"], scoreValues.count == tokens.count else {
                throw TokenizerError("\(file): tokenizer.ggml.scores is missing or does not match the tokens")
            }
            var tokenIDs: [String: Int] = [:]
            for (id, t) in tokens.enumerated() { tokenIDs[t] = id }  // as the GGUF loader builds its vocabulary
            let scores = scoreValues.map { v -> Double in if case .float(let f) = v { return f }; return 0 }
            merges = Tokenizer.mergesFromScores(tokens: tokens, scores: scores, vocab: tokenIDs).map { .array([.string($0.0), .string($0.1)]) }
            let unknown = metadata.int("tokenizer.ggml.unknown_token_id").flatMap { $0 < tokens.count ? tokens[$0] : nil } ?? "<unk>"
            for (k, v) in [("unk_token", JSON.string(unknown)), ("continuing_subword_prefix", .null), ("end_of_word_suffix", .null),
                           ("fuse_unk", true), ("byte_fallback", true), ("ignore_merges", false)] { model[k] = v }
            pre = .object(JSONObject([("type", "Metaspace"), ("replacement", "▁"), ("prepend_scheme", "first"), ("split", false)]))
            decoder = .object(JSONObject([("type", "Sequence"), ("decoders", .array([
                .object(JSONObject([("type", "Replace"), ("pattern", .object(JSONObject([("String", "▁")]))), ("content", " ")])),
                .object(JSONObject([("type", "ByteFallback")])), .object(JSONObject([("type", "Fuse")])),
                .object(JSONObject([("type", "Strip"), ("content", " "), ("start", 1), ("stop", 0)])),
            ]))]))
        }
        model["vocab"] = .object(vocab)
        model["merges"] = .array(merges)
        let tokenizer = JSONObject([
            ("version", "1.0"), ("truncation", .null), ("padding", .null), ("added_tokens", .array(added)), ("normalizer", .null),
            ("pre_tokenizer", pre), ("post_processor", .null), ("decoder", decoder), ("model", .object(model)),
        ])
        var special = JSONObject()
        for (key, field) in [("bos_token", "bos_token_id"), ("eos_token", "eos_token_id"), ("unk_token", "unknown_token_id"), ("pad_token", "padding_token_id")] {
            if let id = metadata.int("tokenizer.ggml." + field), id >= 0, id < tokens.count { special[key] = .string(tokens[id]) }
        }
        var config = special
        config["tokenizer_class"] = "PreTrainedTokenizerFast"
        config["clean_up_tokenization_spaces"] = false
        config["add_bos_token"] = .bool(metadata.values["tokenizer.ggml.add_bos_token"] == .bool(true))
        if let template = metadata.string("tokenizer.chat_template") { config["chat_template"] = .string(template) }
        if let arch = metadata.string("general.architecture"), let context = metadata.int(arch + ".context_length") {
            config["model_max_length"] = .int(Int64(context))
        }
        return [("tokenizer.json", .object(tokenizer)), ("tokenizer_config.json", .object(config)), ("special_tokens_map.json", .object(special))]
    }
}
