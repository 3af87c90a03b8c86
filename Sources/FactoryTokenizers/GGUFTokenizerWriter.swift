import FactoryFormats

/// A tokenizer's GGUF metadata (tokenizer.ggml.*), for a GGUF written from a Hugging Face model: the inverse
/// of GGUFTokenizerRecipe. Byte-level BPE is written as llama.cpp's "gpt2" model with its merges, its
/// pre-tokenizer named as llama.cpp names it (GPT-2's regex "gpt-2", Llama 3's "llama-bpe", Qwen2's "qwen2"),
/// every id's token up to the model's vocabulary size (a gap in the ids, and the embedding rows beyond the
/// tokenizer, as "[PAD<id>]", unused, as llama.cpp's converter writes them), added tokens as control (special) or user-defined,
/// BOS / EOS / padding ids and whether a text gets BOS or EOS.
///
/// What is written is read back through GGUFTokenizerRecipe, the reader Factory loads GGUFs with, and
/// compared with the tokenizer piece by piece: a tokenizer that would come back different (SentencePiece
/// vocabularies, whose GGUF form keeps scores that tokenizer.json does not have; a normalizer; other
/// special tokens around a text) is refused, naming what differs, never written approximately.
public enum GGUFTokenizerWriter {
    /// The entries for `tokenizer` (from `source`, for messages) of a model with `vocabularySize` embedding
    /// rows; `padID` and `unknownID` the padding and unknown tokens' ids, if any.
    public static func entries(_ tokenizer: Tokenizer, vocabularySize: Int, padID: Int?, unknownID: Int? = nil, source: String) throws -> [GGUFWriter.Entry] {
        func refuse(_ why: String) -> TokenizerError { TokenizerError("\(source): the tokenizer has no GGUF form Factory writes: \(why)") }
        let model = tokenizer.model
        guard !model.byteFallback, model.unknownID == nil, tokenizer.decoder.count == 1, case .byteLevel = tokenizer.decoder[0] else {
            throw refuse("it is not byte-level BPE (a SentencePiece vocabulary's GGUF form needs the scores tokenizer.json does not keep)")
        }
        guard tokenizer.normalizer.isEmpty else { throw refuse("it normalizes text first, which llama.cpp's gpt2 tokenizer does not") }
        let pre: String
        switch tokenizer.preTokenization {
        case .byteLevel: pre = "gpt-2"
        case .split(.llama3): pre = "llama-bpe"
        case .split(.qwen2): pre = "qwen2"
        default: throw refuse("its pre-tokenizer has no llama.cpp name")
        }
        guard tokenizer.vocabularySize <= vocabularySize else {
            throw TokenizerError("\(source): the tokenizer has \(tokenizer.vocabularySize) tokens, the model's embeddings \(vocabularySize) rows; "
                                 + "tokens without a row cannot be written (was the vocabulary resized without the model?)")
        }
        let count = vocabularySize
        var tokens = (0..<count).map { $0 < model.idToToken.count && !model.idToToken[$0].isEmpty ? model.idToToken[$0] : "[PAD\($0)]" }
        var types = [Int64](repeating: 1, count: count)  // 1 normal, 3 control, 4 user-defined, 5 unused
        for id in 0..<count where tokens[id] == "[PAD\(id)]" { types[id] = 5 }
        for added in tokenizer.addedTokens {
            tokens[added.id] = added.content
            types[added.id] = added.special ? 3 : 4
        }
        let merges = model.orderedMerges
        var entries = [
            GGUFWriter.Entry("tokenizer.ggml.model", .string, .string("gpt2")),
            GGUFWriter.Entry("tokenizer.ggml.pre", .string, .string(pre)),
            GGUFWriter.Entry("tokenizer.ggml.tokens", .array(of: 8), .array(tokens.map { .string($0) })),
            GGUFWriter.Entry("tokenizer.ggml.token_type", .array(of: 5), .array(types.map { .int($0) })),
            GGUFWriter.Entry("tokenizer.ggml.merges", .array(of: 8), .array(merges.map { .string($0.0 + " " + $0.1) })),
        ]
        for (key, id) in [("bos_token_id", tokenizer.bosID), ("eos_token_id", tokenizer.eosID), ("unknown_token_id", unknownID), ("padding_token_id", padID)] {
            if let id, id >= 0, id < count { entries.append(GGUFWriter.Entry("tokenizer.ggml." + key, .uint32, .uint(UInt64(id)))) }
        }
        let addBOS = tokenizer.bosID.map { tokenizer.specialPrefix == [$0] } ?? false
        let addEOS = tokenizer.eosID.map { tokenizer.specialSuffix == [$0] } ?? false
        entries += [GGUFWriter.Entry("tokenizer.ggml.add_bos_token", .bool, .bool(addBOS)),
                    GGUFWriter.Entry("tokenizer.ggml.add_eos_token", .bool, .bool(addEOS))]

        // read back as Factory reads a GGUF, and compared
        let recipe = try GGUFTokenizerRecipe(GGUFMetadata(entries: entries), file: source)
        guard recipe.merges.count == merges.count, zip(recipe.merges, merges).allSatisfy({ $0 == $1 }) else { throw refuse("its merges do not read back") }
        func key(_ t: AddedToken) -> String { "\(t.id)\u{0}\(t.content)\u{0}\(t.special)" }
        guard Set(recipe.added.map(key)) == Set(tokenizer.addedTokens.map(key)) else {
            throw refuse("its added tokens do not read back as they are (a non-special token written \"<|…|>\" reads as special)")
        }
        guard recipe.preTokenization == tokenizer.preTokenization else { throw refuse("its pre-tokenizer does not read back") }
        let prefix = recipe.addBOS ? recipe.bos.map { [$0] } ?? [] : [], suffix = recipe.addEOS ? recipe.eos.map { [$0] } ?? [] : []
        guard prefix == tokenizer.specialPrefix, suffix == tokenizer.specialSuffix else {
            throw refuse("the special tokens it puts around a text (\(tokenizer.specialPrefix) … \(tokenizer.specialSuffix)) are not BOS and EOS alone")
        }
        return entries
    }
}
