// The hyper-parameters of a Llama-style decoder (Llama, Qwen2), from a Hugging
// Face config.json or from GGUF metadata (llama.cpp's `<arch>.*` keys).
// Validated while decoding: a missing or wrong value is an error naming the
// key, never a trap.
import FactoryJSON
import FactoryPluginKit

public struct DecoderConfiguration {
    public var hiddenSize: Int
    public var intermediateSize: Int
    public var layers: Int
    public var heads: Int
    public var kvHeads: Int
    public var headDim: Int
    public var vocabSize: Int
    public var rmsNormEps: Float
    /// nil: decided by whether the checkpoint has an lm_head (GGUF: output.weight).
    public var tieWordEmbeddings: Bool?
    /// The rotary embedding: base, rotated dimensions, scaling.
    public var rotary: RotaryEmbedding
    public var ropeTheta: Float { rotary.theta }
    /// The longest sequence the model was trained for (max_position_embeddings / context_length); 0 = unknown.
    public var contextLength = 0
    /// Attention sees at most this many most recent keys (Mistral's sliding_window); 0 = every key.
    public var slidingWindow = 0

    /// Where the values came from, for an architecture's own keys (see `number(hf:gguf:)`).
    public let source: Source

    public enum Source {
        case hf(JSONObject)
        /// GGUF metadata and the architecture prefix of its keys ("gemma2").
        case gguf(JSONObject, architecture: String)
    }

    /// An architecture's own number: config.json's `hf` key, or GGUF's `<arch>.<gguf>` key. `absent` when
    /// the key is missing (the reference implementation's default), nil when it is null, an error naming
    /// the key when it is not a finite number.
    public func number(hf: String, gguf: String, absent: Double? = nil) throws -> Double? {
        let (value, key): (JSON?, String)
        switch source {
        case .hf(let c): (value, key) = (c[hf], "config.json: '\(hf)'")
        case .gguf(let m, let a): (value, key) = (m["\(a).\(gguf)"], "GGUF metadata: '\(a).\(gguf)'")
        }
        guard let value else { return absent }
        if value == .null { return nil }
        guard let d = value.doubleValue, d.isFinite else { throw PluginError.invalidArgument("\(key) must be a number") }
        return d
    }

    /// config.json's `layer_types` ("sliding_attention" / "full_attention" per layer), when it has one:
    /// true where the layer attends through the sliding window.
    public func slidingLayerTypes() throws -> [Bool]? {
        guard case .hf(let c) = source, let types = c["layer_types"], types != .null else { return nil }
        guard let list = types.arrayValue, list.count == layers else {
            throw PluginError.invalidArgument("config.json: 'layer_types' must list one type per layer (\(layers))")
        }
        return try list.enumerated().map { i, t in
            switch t.stringValue {
            case "sliding_attention": return true
            case "full_attention": return false
            default: throw PluginError.invalidArgument("config.json: 'layer_types'[\(i)] must be \"sliding_attention\" or \"full_attention\"")
            }
        }
    }

    public init(hf c: JSONObject) throws {
        source = .hf(c)
        func int(_ k: String) throws -> Int {
            guard let v = c[k]?.intValue, v > 0, let n = Int(exactly: v) else { throw PluginError.invalidArgument("config.json: '\(k)' must be a positive integer") }
            return n
        }
        func number(_ k: String, _ def: Double) throws -> Float {
            guard let v = c[k] else { return Float(def) }
            guard let d = v.doubleValue else { throw PluginError.invalidArgument("config.json: '\(k)' must be a number") }
            return Float(d)
        }
        hiddenSize = try int("hidden_size")
        intermediateSize = try int("intermediate_size")
        layers = try int("num_hidden_layers")
        heads = try int("num_attention_heads")
        kvHeads = c["num_key_value_heads"] == nil || c["num_key_value_heads"] == .null ? heads : try int("num_key_value_heads")
        headDim = c["head_dim"] == nil || c["head_dim"] == .null ? hiddenSize / heads : try int("head_dim")
        vocabSize = try int("vocab_size")
        rmsNormEps = try number("rms_norm_eps", 1e-6)
        let theta = try number("rope_theta", (c["rope_parameters"]?["rope_theta"]?.doubleValue) ?? 10000)
        tieWordEmbeddings = c["tie_word_embeddings"]?.boolValue ?? false
        contextLength = Int(c["max_position_embeddings"]?.intValue ?? 0)
        // sliding_window applies unless use_sliding_window says otherwise (Qwen's configs carry one they do not use)
        if c["use_sliding_window"]?.boolValue != false, let w = c["sliding_window"]?.intValue {
            guard w > 0, let n = Int(exactly: w) else { throw PluginError.invalidArgument("config.json: 'sliding_window' must be a positive integer or null") }
            slidingWindow = n
        }
        rotary = try RotaryEmbedding(hf: c["rope_scaling"]?.objectValue ?? c["rope_parameters"]?.objectValue ?? JSONObject(), config: c,
                                     theta: theta, headDim: headDim, maxPositions: contextLength)
        try validate()
    }

    public init(gguf m: JSONObject, architecture a: String) throws {
        source = .gguf(m, architecture: a)
        func int(_ k: String) throws -> Int {
            guard let v = m["\(a).\(k)"]?.intValue, v > 0, let n = Int(exactly: v) else {
                throw PluginError.invalidArgument("GGUF metadata: '\(a).\(k)' must be a positive integer")
            }
            return n
        }
        hiddenSize = try int("embedding_length")
        intermediateSize = try int("feed_forward_length")
        layers = try int("block_count")
        heads = try int("attention.head_count")
        kvHeads = m["\(a).attention.head_count_kv"] == nil ? heads : try int("attention.head_count_kv")
        headDim = m["\(a).attention.key_length"] == nil ? hiddenSize / heads : try int("attention.key_length")
        if let v = m["\(a).vocab_size"]?.intValue { vocabSize = Int(v) } else if let n = m["tokenizer.ggml.tokens.count"]?.intValue { vocabSize = Int(n) } else {
            throw PluginError.invalidArgument("GGUF metadata: neither '\(a).vocab_size' nor the tokenizer's token count")
        }
        rmsNormEps = Float(m["\(a).attention.layer_norm_rms_epsilon"]?.doubleValue ?? 1e-5)
        let theta = Float(m["\(a).rope.freq_base"]?.doubleValue ?? 10000)
        tieWordEmbeddings = nil
        contextLength = Int(m["\(a).context_length"]?.intValue ?? 0)
        slidingWindow = Int(m["\(a).attention.sliding_window"]?.intValue ?? 0)
        let dim = m["\(a).rope.dimension_count"] == nil ? headDim : try int("rope.dimension_count")
        rotary = RotaryEmbedding(theta: theta, dim: dim, scaling: try RopeScaling(gguf: m, architecture: a))
        try validate()
    }

    func validate() throws {
        guard heads % kvHeads == 0 else { throw PluginError.invalidArgument("model: \(heads) attention heads are not a multiple of \(kvHeads) kv heads") }
        guard headDim % 2 == 0 else { throw PluginError.invalidArgument("model: head size \(headDim) must be even for RoPE") }
        guard rotary.dim > 0, rotary.dim % 2 == 0, rotary.dim <= headDim else {
            throw PluginError.invalidArgument("model: \(rotary.dim) rotary dimensions for head size \(headDim) (must be even and at most it)")
        }
    }
}

#if canImport(Glibc)
import Glibc
#endif
