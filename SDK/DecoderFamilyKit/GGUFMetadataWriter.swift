// The inverse of DecoderConfiguration(gguf:): llama.cpp's `<arch>.*` metadata for a configuration read from
// a Hugging Face config.json, which `factory export --gguf` writes for a Hugging Face model (describe key
// gguf_metadata). Reading the written keys back gives the same configuration; what llama.cpp's keys cannot
// say (Llama 3's and LongRoPE's scaling, which llama.cpp keeps as tensors; dynamic NTK, which it lacks;
// YaRN without truncation) is refused, naming it.
import FactoryJSON
import FactoryPluginKit
#if canImport(Glibc)
import Glibc
#endif

/// One GGUF metadata entry: its key, GGUF type ("uint32", "int32", "float32", "bool", "string") and value.
public struct GGUFMetadataEntry: Sendable {
    public let key: String
    public let type: String
    public let value: JSON

    public init(_ key: String, _ type: String, _ value: JSON) { (self.key, self.type, self.value) = (key, type, value) }
    public static func uint32(_ key: String, _ v: Int) -> GGUFMetadataEntry { GGUFMetadataEntry(key, "uint32", .int(Int64(v))) }
    public static func float32(_ key: String, _ v: Double) -> GGUFMetadataEntry { GGUFMetadataEntry(key, "float32", .double(v)) }
    public static func string(_ key: String, _ v: String) -> GGUFMetadataEntry { GGUFMetadataEntry(key, "string", .string(v)) }

    /// The describe() form: {"key", "type", "value"}.
    var json: JSON { .object(JSONObject([("key", .string(key)), ("type", .string(type)), ("value", value)])) }
}

extension DecoderConfiguration {
    /// llama.cpp's keys for this configuration under the prefix `a` (its architecture name).
    public func ggufMetadata(architecture a: String) throws -> [GGUFMetadataEntry] {
        var m: [GGUFMetadataEntry] = [
            .uint32("\(a).context_length", contextLength), .uint32("\(a).embedding_length", hiddenSize), .uint32("\(a).block_count", layers),
            .uint32("\(a).feed_forward_length", intermediateSize), .uint32("\(a).attention.head_count", heads),
            .uint32("\(a).attention.head_count_kv", kvHeads), .float32("\(a).rope.freq_base", Double(rotary.theta)),
            .float32("\(a).attention.layer_norm_rms_epsilon", Double(rmsNormEps)), .uint32("\(a).vocab_size", vocabSize),
            .uint32("\(a).rope.dimension_count", rotary.dim),
        ]
        if headDim != hiddenSize / heads {
            m += [.uint32("\(a).attention.key_length", headDim), .uint32("\(a).attention.value_length", headDim)]
        }
        if slidingWindow > 0 { m.append(.uint32("\(a).attention.sliding_window", slidingWindow)) }
        switch rotary.scaling {
        case .none: break
        case .linear(let f): m += [.string("\(a).rope.scaling.type", "linear"), .float32("\(a).rope.scaling.factor", Double(f))]
        case .yarn(let f, let original, let attention, let fast, let slow, let truncate):
            guard truncate else { throw PluginError.unsupported("rope_scaling yarn with truncate false has no GGUF form (llama.cpp truncates)") }
            // the reader multiplies attn_factor by YaRN's own mscale: write what gives `attention` back
            let mscale = f <= 1 ? 1 : 0.1 * log(f) + 1
            m += [.string("\(a).rope.scaling.type", "yarn"), .float32("\(a).rope.scaling.factor", f),
                  .uint32("\(a).rope.scaling.original_context_length", Int(original)), .float32("\(a).rope.scaling.attn_factor", attention / mscale),
                  .float32("\(a).rope.scaling.yarn_beta_fast", fast), .float32("\(a).rope.scaling.yarn_beta_slow", slow)]
        case .llama3: throw PluginError.unsupported("rope_scaling llama3 is not written to GGUF yet (llama.cpp keeps it as a rope_freqs tensor)")
        case .longrope: throw PluginError.unsupported("rope_scaling longrope is not written to GGUF yet (llama.cpp keeps its factors as tensors)")
        case .dynamic: throw PluginError.unsupported("rope_scaling dynamic has no GGUF form (llama.cpp does not implement it)")
        }
        return m
    }
}
