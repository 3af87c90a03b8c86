import FactoryFormats
import FactoryJSON

/// The Hugging Face tokenizer files (tokenizer.json, tokenizer_config.json, special_tokens_map.json)
/// for a GGUF model's tokenizer, so that a model fine-tuned from a GGUF base and saved as safetensors
/// loads in transformers (and in Factory) with its tokenizer: the same pipeline Factory reads the GGUF
/// with (GGUFTokenizerRecipe), written out.
public enum HFTokenizerFiles {
    /// File name → contents.
    public static func fromGGUF(_ metadata: GGUFMetadata, file: String) throws -> [(String, JSON)] {
        let recipe: GGUFTokenizerRecipe
        do { recipe = try GGUFTokenizerRecipe(metadata, file: file) } catch let e as TokenizerError {
            throw e.message.hasPrefix(file) ? e : TokenizerError("\(file): \(e.message)")
        }
        let tokens = recipe.tokens
        var vocab = JSONObject()
        for (id, token) in tokens.enumerated() where recipe.vocab[token] == id { vocab[token] = .int(Int64(id)) }
        let added: [JSON] = recipe.added.map { t in
            ["id": .int(Int64(t.id)), "content": .string(t.content), "single_word": false, "lstrip": false, "rstrip": false,
             "normalized": false, "special": .bool(t.special)]
        }
        var model = JSONObject([("type", "BPE"), ("dropout", .null)])
        for (k, v) in [("unk_token", recipe.unknown.map(JSON.string) ?? .null), ("continuing_subword_prefix", .null), ("end_of_word_suffix", .null),
                       ("fuse_unk", .bool(recipe.unknown != nil)), ("byte_fallback", .bool(recipe.unknown != nil)), ("ignore_merges", false)] {
            model[k] = v
        }
        model["vocab"] = .object(vocab)
        model["merges"] = .array(recipe.merges.map { .array([.string($0.0), .string($0.1)]) })
        let tokenizer = JSONObject([
            ("version", "1.0"), ("truncation", .null), ("padding", .null), ("added_tokens", .array(added)),
            ("normalizer", NormalizerStep.json(recipe.normalizer)), ("pre_tokenizer", recipe.preTokenization.json),
            ("post_processor", postProcessor(recipe)), ("decoder", DecoderStep.json(recipe.decoder)), ("model", .object(model)),
        ])
        var special = JSONObject()
        for (key, field) in [("bos_token", "bos_token_id"), ("eos_token", "eos_token_id"), ("unk_token", "unknown_token_id"), ("pad_token", "padding_token_id")] {
            if let id = metadata.int("tokenizer.ggml." + field), id >= 0, id < tokens.count { special[key] = .string(tokens[id]) }
        }
        var config = special
        config["tokenizer_class"] = "PreTrainedTokenizerFast"
        config["clean_up_tokenization_spaces"] = false
        config["add_bos_token"] = .bool(recipe.addBOS && recipe.bos != nil)
        config["add_eos_token"] = .bool(recipe.addEOS && recipe.eos != nil)
        if let template = metadata.string("tokenizer.chat_template") { config["chat_template"] = .string(template) }
        if let arch = metadata.string("general.architecture"), let context = metadata.int(arch + ".context_length") {
            config["model_max_length"] = .int(Int64(context))
        }
        return [("tokenizer.json", .object(tokenizer)), ("tokenizer_config.json", .object(config)), ("special_tokens_map.json", .object(special))]
    }

    /// A TemplateProcessing with the file's BOS / EOS around a text, as tokenizer(text) adds them; null when neither.
    static func postProcessor(_ r: GGUFTokenizerRecipe) -> JSON {
        var single: [JSON] = [], pair: [JSON] = [], specials = JSONObject()
        func token(_ id: Int?, _ add: Bool) -> JSON? {
            guard add, let id, id < r.tokens.count else { return nil }
            specials[r.tokens[id]] = ["id": .string(r.tokens[id]), "ids": [.int(Int64(id))], "tokens": [.string(r.tokens[id])]]
            return .string(r.tokens[id])
        }
        let bos = token(r.bos, r.addBOS), eos = token(r.eos, r.addEOS)
        guard bos != nil || eos != nil else { return .null }
        for (sequence, typeID) in [("A", 0), ("B", 1)] {
            var pieces: [JSON] = []
            if let bos { pieces.append(["SpecialToken": ["id": bos, "type_id": .int(Int64(typeID))]]) }
            pieces.append(["Sequence": ["id": .string(sequence), "type_id": .int(Int64(typeID))]])
            if let eos { pieces.append(["SpecialToken": ["id": eos, "type_id": .int(Int64(typeID))]]) }
            if sequence == "A" { single = pieces }
            pair += pieces
        }
        return ["type": "TemplateProcessing", "single": .array(single), "pair": .array(pair), "special_tokens": .object(specials)]
    }
}
