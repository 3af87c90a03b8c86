// LLaMA-Factory's vocabulary keys, applied as it applies them (model/patcher.py, model_utils/embedding.py):
// add_tokens and add_special_tokens (new_special_tokens, an older name of the latter) join the tokenizer,
// each not already in it taking the next id; tokens added turn resize_vocab on. With resize_vocab, when the
// tokenizer outgrows the embeddings, the embeddings (and an untied LM head) grow to the tokenizer's size
// rounded up to a multiple of 64 (resize_token_embeddings(pad_to_multiple_of=64)), each new row the mean of
// the old rows plus Gaussian noise of standard deviation 1/√hidden (init_special_tokens noise_init), drawn
// from `seed`. config.json's vocab_size (a GGUF's <arch>.vocab_size) says the new size, so the model family
// builds the model at that size and everything downstream (logits, adapters, exports) agrees.
import FactoryConfig
import FactoryEngine
import FactoryHost
import FactoryJSON
import FactoryTokenizers
import Foundation

/// What a run asks of the vocabulary.
public struct VocabularyChange: Sendable {
    public var tokens: [String] = []
    public var specialTokens: [String] = []
    public var resize = false
    public var seed: UInt64 = 42

    public init(tokens: [String] = [], specialTokens: [String] = [], resize: Bool = false, seed: UInt64 = 42) {
        (self.tokens, self.specialTokens, self.resize, self.seed) = (tokens, specialTokens, resize, seed)
    }

    /// `tokenizer` with the tokens added; the tokens that were new.
    public func extend(_ tokenizer: Tokenizer) -> (Tokenizer, added: [String]) {
        let (withTokens, plain) = tokenizer.adding(tokens, special: false)
        let (withSpecial, special) = withTokens.adding(specialTokens, special: true)
        return (withSpecial, plain + special)
    }

    /// What names a tokenizer in a tokenized-data cache fingerprint: `base` (the model's files) and the tokens
    /// added to it, so data tokenized before a token was added is not reused.
    public static func identity(_ base: String, added: [String]) -> String {
        added.isEmpty ? base : base + " +" + added.joined(separator: "\u{1}")
    }

    /// The embedding rows for a tokenizer of `size` tokens and a model of `rows`: `rows` unless resizing and
    /// the tokenizer is larger, then `size` rounded up to a multiple of 64.
    func rows(tokenizer size: Int, model rows: Int, resize: Bool) -> Int {
        guard resize, size > rows else { return rows }
        return (size + 63) / 64 * 64
    }
}

extension RunConfig {
    /// The config's tokenizer for `base`: with the tokens its vocabulary keys add, and those that were new.
    public func tokenizer(extending base: Tokenizer) -> (Tokenizer, added: [String]) { vocabularyChange()?.extend(base) ?? (base, []) }

    /// The config's vocabulary keys; nil when it changes nothing.
    public func vocabularyChange() -> VocabularyChange? {
        let tokens = list("add_tokens") ?? [], special = (list("add_special_tokens") ?? []) + (list("new_special_tokens") ?? [])
        guard !tokens.isEmpty || !special.isEmpty || bool("resize_vocab") == true else { return nil }
        return VocabularyChange(tokens: tokens.map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty },
                                specialTokens: special.map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty },
                                resize: bool("resize_vocab") ?? false, seed: UInt64(truncatingIfNeeded: int("seed") ?? 42))
    }
}

/// A checkpoint whose vocabulary-sized tensors (the embeddings, an untied LM head: the tensors of `oldRows`
/// rows that the family maps to a parameter of `newRows`) come grown to `newRows`, the new rows initialised
/// as LLaMA-Factory's noise_init does.
final class ResizedVocabularyCheckpoint: CheckpointSource {
    let inner: CheckpointSource
    let grown: Set<String>
    let oldRows: Int, newRows: Int
    var rng: SplitMix64
    var format: String { inner.format }

    init(_ inner: CheckpointSource, grown: Set<String>, oldRows: Int, newRows: Int, seed: UInt64) {
        (self.inner, self.grown, self.oldRows, self.newRows, rng) = (inner, grown, oldRows, newRows, SplitMix64(seed: seed))
    }

    func tensor(_ name: String) throws -> Tensor? {
        guard let t = try inner.tensor(name) else { return nil }
        guard grown.contains(name), t.rank == 2, t.shape[0] == oldRows else { return t }
        let columns = t.shape[1]
        let out = Tensor(shape: [newRows, columns], zeroed: true)
        out.data.update(from: t.contiguous().data, count: oldRows * columns)
        var mean = [Double](repeating: 0, count: columns)
        for r in 0..<oldRows { for c in 0..<columns { mean[c] += Double(out.data[r * columns + c]) } }
        let std = 1 / Double(columns).squareRoot()
        for r in oldRows..<newRows {
            for c in 0..<columns { out.data[r * columns + c] = Float(mean[c] / Double(oldRows) + std * rng.nextGaussian()) }
        }
        return out
    }
}

extension SplitMix64 {
    /// A standard normal draw (Box–Muller).
    mutating func nextGaussian() -> Double {
        let u = max(nextUnit(), 1e-300), v = nextUnit()
        return (-2 * log(u)).squareRoot() * cos(2 * .pi * v)
    }
}

/// A model family created for a vocabulary change: the tokenizer extended, the family created at the grown
/// size when the embeddings grow, and the checkpoint that hands it grown tensors. One line on stderr says
/// what was added and grown, as LLaMA-Factory logs it.
struct VocabularyGrowth {
    let family: ModelFamilyInstance
    let tokenizer: Tokenizer
    /// The tokens that were new to the tokenizer.
    let added: [String]
    /// Old and new embedding rows, when they grew.
    let rows: (old: Int, new: Int)?
    let seed: UInt64

    /// `create(nil)`: the family as the checkpoint describes it; `create(rows)`: at `rows` embedding rows.
    init(_ change: VocabularyChange?, tokenizer base: Tokenizer, quantized: Bool, create: (Int?) throws -> ModelFamilyInstance) throws {
        let family = try create(nil)
        seed = change?.seed ?? 42
        guard let change else { (self.family, tokenizer, rows, added) = (family, base, nil, []); return }
        let (tokenizer, added) = change.extend(base)
        self.added = added
        let old = Int(try family.describe()["vocab_size"]?.intValue ?? 0)
        let resize = change.resize || !added.isEmpty  // LLaMA-Factory turns resize_vocab on when tokens were added
        let new = change.rows(tokenizer: tokenizer.vocabularySize, model: old, resize: resize)
        var line = added.isEmpty ? "vocabulary: no token added (all were already in it)" : "vocabulary: added \(added.count) token(s): \(added.joined(separator: ", "))"
        if added.count > 0 && !change.resize { line += "; resize_vocab turned on, as LLaMA-Factory does" }
        if new != old {
            guard !quantized else {
                throw ConfigProblem("resize_vocab: the embeddings of a model loaded quantized cannot grow (LLaMA-Factory refuses it too); load it without quantization_bit")
            }
            line += "; embeddings \(old) → \(new) rows (a multiple of 64), the new rows the mean of the others plus noise (init_special_tokens noise_init)"
            self.family = try create(new)
            rows = (old, new)
        } else {
            line += tokenizer.vocabularySize <= old ? "; the embeddings' \(old) rows already hold them" : ""
            self.family = family
            rows = nil
        }
        self.tokenizer = tokenizer
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }

    /// `checkpoint`, handing out the vocabulary-sized tensors among `names` grown when the rows grew.
    func checkpoint(_ checkpoint: CheckpointSource, names: [String]) throws -> CheckpointSource {
        guard let (old, new) = rows else { return checkpoint }
        let parameters = Dictionary((try family.describe()["parameters"]?.arrayValue ?? []).compactMap { p -> (String, [Int])? in
            guard let name = p["name"]?.stringValue, let shape = p["shape"]?.arrayValue?.compactMap({ $0.intValue.map(Int.init) }) else { return nil }
            return (name, shape)
        }, uniquingKeysWith: { a, _ in a })
        let grown = try names.filter { name in
            guard let parameter = try family.mapCheckpointName(format: checkpoint.format, name: name) else { return false }
            return parameters[parameter]?.first == new
        }
        return ResizedVocabularyCheckpoint(checkpoint, grown: Set(grown), oldRows: old, newRows: new, seed: seed)
    }
}
