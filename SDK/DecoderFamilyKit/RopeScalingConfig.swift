// RoPE scaling as a config.json (rope_scaling, or transformers 5's rope_parameters) or a GGUF file
// (llama.cpp's `<arch>.rope.scaling.*`) states it, with transformers' defaults for what is left out.
// A type Factory does not implement is refused naming it, never run as plain RoPE.
import FactoryJSON
import FactoryPluginKit
#if canImport(Glibc)
import Glibc
#endif

extension RotaryEmbedding {
    /// From config.json: `parameters` is rope_scaling or rope_parameters (or one layer type's entry of
    /// them), `config` the whole file; `theta` when `parameters` names none.
    public init(hf parameters: JSONObject, config c: JSONObject, theta: Float, headDim: Int, maxPositions: Int) throws {
        let partial = c["partial_rotary_factor"]?.doubleValue ?? parameters["partial_rotary_factor"]?.doubleValue ?? 1
        guard partial > 0 && partial <= 1 else { throw PluginError.invalidArgument("config.json: 'partial_rotary_factor' must be in (0, 1]") }
        let dim = Int(Double(headDim) * partial)
        self.init(theta: parameters["rope_theta"]?.doubleValue.map(Float.init) ?? theta, dim: dim,
                  scaling: try RopeScaling(hf: parameters, config: c, dim: dim, maxPositions: maxPositions))
    }
}

extension RopeScaling {
    /// From config.json: `s` is rope_scaling (or rope_parameters), `config` the whole file (for
    /// original_max_position_embeddings at its top level, as Phi-3 keeps it).
    public init(hf s: JSONObject, config: JSONObject, dim: Int, maxPositions: Int) throws {
        func number(_ key: String) throws -> Double? {
            guard let v = s[key], v != .null else { return nil }
            guard let d = v.doubleValue, d.isFinite else { throw PluginError.invalidArgument("config.json: rope_scaling '\(key)' must be a number") }
            return d
        }
        func required(_ key: String, _ type: String) throws -> Double {
            guard let d = try number(key) else { throw PluginError.invalidArgument("config.json: rope_scaling type \(type) needs '\(key)'") }
            return d
        }
        func positive(_ d: Double, _ key: String) throws -> Double {
            guard d > 0 else { throw PluginError.invalidArgument("config.json: rope_scaling '\(key)' must be positive") }
            return d
        }
        /// original_max_position_embeddings: in rope_scaling, else at the config's top level.
        func original(_ type: String) throws -> Double {
            if let o = try number("original_max_position_embeddings") { return try positive(o, "original_max_position_embeddings") }
            if let o = config["original_max_position_embeddings"]?.doubleValue, o > 0 { return o }
            throw PluginError.invalidArgument("config.json: rope_scaling type \(type) needs 'original_max_position_embeddings'")
        }
        switch s["rope_type"]?.stringValue ?? s["type"]?.stringValue ?? "default" {
        case "default": self = .none
        case "linear": self = .linear(factor: Float(try positive(try required("factor", "linear"), "factor")))
        case "dynamic":
            guard maxPositions > 0 else { throw PluginError.invalidArgument("config.json: rope_scaling type dynamic needs 'max_position_embeddings'") }
            self = .dynamic(factor: try positive(try required("factor", "dynamic"), "factor"), maxPositions: maxPositions)
        case "llama3":
            let f = try positive(try required("factor", "llama3"), "factor"), low = try required("low_freq_factor", "llama3")
            let high = try required("high_freq_factor", "llama3"), o = try original("llama3")
            guard high > low else { throw PluginError.invalidArgument("config.json: rope_scaling llama3 needs low_freq_factor < high_freq_factor") }
            self = .llama3(factor: Float(f), low: Float(low), high: Float(high), original: Float(o))
        case "yarn":
            let o = try original("yarn")
            let factor = try number("factor").map { try positive($0, "factor") } ?? Double(maxPositions) / o
            func mscale(_ scale: Double, _ m: Double = 1) -> Double { scale <= 1 ? 1 : 0.1 * m * log(scale) + 1 }
            var attention = try number("attention_factor")
            if attention == nil {
                if let m = try number("mscale"), let all = try number("mscale_all_dim"), m != 0, all != 0 {
                    attention = mscale(factor, m) / mscale(factor, all)
                } else { attention = mscale(factor) }
            }
            let fast = try number("beta_fast").flatMap { $0 == 0 ? nil : $0 } ?? 32, slow = try number("beta_slow").flatMap { $0 == 0 ? nil : $0 } ?? 1
            self = .yarn(factor: factor, original: o, attentionFactor: attention ?? 1, betaFast: fast, betaSlow: slow,
                         truncate: s["truncate"]?.boolValue ?? true)
        case "longrope", "su":
            let o = try original("longrope")
            func factors(_ key: String) throws -> [Float] {
                guard let list = s[key]?.arrayValue, list.count == dim / 2 else {
                    throw PluginError.invalidArgument("config.json: rope_scaling '\(key)' must list \(dim / 2) numbers (rotary dimensions / 2)")
                }
                return try list.map { v in
                    guard let d = v.doubleValue, d > 0 else { throw PluginError.invalidArgument("config.json: rope_scaling '\(key)' must hold positive numbers") }
                    return Float(d)
                }
            }
            let factor = try number("factor") ?? Double(maxPositions) / o
            let attention = try number("attention_factor") ?? (factor <= 1 ? 1 : (1 + log(factor) / log(o)).squareRoot())
            self = .longrope(short: try factors("short_factor"), long: try factors("long_factor"), original: Int(o), attentionFactor: attention)
        case let other:
            throw PluginError.unsupported("config.json: rope_scaling type '\(other)' is not supported (default, linear, dynamic, llama3, yarn, longrope)")
        }
    }

    /// From GGUF metadata (llama.cpp writes linear, YaRN and LongRoPE's type here; Llama 3.1's scaling is a
    /// tensor, rope_freqs.weight, and LongRoPE's factors too, rope_factors_long/short.weight).
    public init(gguf m: JSONObject, architecture a: String) throws {
        func number(_ key: String) -> Double? { m["\(a).rope.scaling.\(key)"]?.doubleValue }
        let factor = number("factor")
        switch m["\(a).rope.scaling.type"]?.stringValue ?? "none" {
        case "none": self = .none
        case "linear":
            guard let f = factor, f > 0 else { throw PluginError.invalidArgument("GGUF metadata: '\(a).rope.scaling.factor' must be positive for linear scaling") }
            self = .linear(factor: Float(f))
        case "yarn":
            guard let f = factor, f > 0, let o = number("original_context_length"), o > 0 else {
                throw PluginError.invalidArgument("GGUF metadata: YaRN needs '\(a).rope.scaling.factor' and '\(a).rope.scaling.original_context_length'")
            }
            let attention = (number("attn_factor") ?? 1) * (f <= 1 ? 1 : 0.1 * log(f) + 1)
            self = .yarn(factor: f, original: o, attentionFactor: attention, betaFast: number("yarn_beta_fast") ?? 32,
                         betaSlow: number("yarn_beta_slow") ?? 1, truncate: true)
        case "longrope":  // the factors are tensors (rope_factors_long/short): DecoderFamily.loadWeights reads them
            guard let o = number("original_context_length"), o > 0 else {
                throw PluginError.invalidArgument("GGUF metadata: LongRoPE needs '\(a).rope.scaling.original_context_length'")
            }
            let scale = (m["\(a).context_length"]?.doubleValue ?? o) / o
            let attention = number("attn_factor") ?? (scale <= 1 ? 1 : (1 + log(scale) / log(o)).squareRoot())
            self = .longrope(short: [], long: [], original: Int(o), attentionFactor: attention)
        case let other:
            throw PluginError.unsupported("GGUF metadata: '\(a).rope.scaling.type' \(other) is not supported (none, linear, yarn, longrope)")
        }
    }

    /// config.json's rope_scaling for this scaling (what a saved model writes); nil for none.
    public var hfConfig: JSON? {
        switch self {
        case .none: return nil
        case .linear(let f): return ["rope_type": "linear", "factor": .double(Double(f))]
        case .dynamic(let f, _): return ["rope_type": "dynamic", "factor": .double(f)]
        case .llama3(let f, let low, let high, let o):
            return ["rope_type": "llama3", "factor": .double(Double(f)), "low_freq_factor": .double(Double(low)),
                    "high_freq_factor": .double(Double(high)), "original_max_position_embeddings": .double(Double(o))]
        case .yarn(let f, let o, let attention, let fast, let slow, let truncate):
            return ["rope_type": "yarn", "factor": .double(f), "original_max_position_embeddings": .double(o), "attention_factor": .double(attention),
                    "beta_fast": .double(fast), "beta_slow": .double(slow), "truncate": .bool(truncate)]
        case .longrope(let short, let long, let o, let attention):
            return ["rope_type": "longrope", "short_factor": .array(short.map { .double(Double($0)) }), "long_factor": .array(long.map { .double(Double($0)) }),
                    "original_max_position_embeddings": .int(Int64(o)), "attention_factor": .double(attention)]
        }
    }
}
