// The gemma3 plugin: Gemma 3 text models (Gemma3ForCausalLM, model_type gemma3_text; llama.cpp's "gemma3").
// transformers/models/gemma3/modeling_gemma3.py, read as one file: Gemma 2's layer (a norm before and after
// attention and MLP, GeGLU, (1 + w) RMSNorm, √hidden-scaled embeddings, query_pre_attn_scalar) with
// - a (1 + w) RMSNorm over each head of q and of k before RoPE (q_norm, k_norm);
// - sliding-window attention on the layers `layer_types` marks (by default five of every six), and a RoPE of
//   its own for those layers: rope_parameters["sliding_attention"] (or rope_local_base_freq, 10,000, unscaled)
//   beside the full layers' rope_parameters["full_attention"] (or rope_theta, 1,000,000, and rope_scaling);
// - soft caps only when the config sets them (none by default).
// llama.cpp adds 1 to every norm weight (undone on load), stores the full layers' RoPE and the local base
// (rope.freq_base_swa, else 10,000), and, like Gemma 2, scales scores by head_dim^-½ except for the 27B
// model (62 layers).
import CFactoryABI
import DecoderFamilyKit
import FactoryJSON
import FactoryPluginKit

struct Gemma3: DecoderArchitecture, DecoderPartsHolder {
    static let descriptor = ComponentDescriptor(
        id: "org.factory.model.gemma3", name: "gemma3", version: "1.0.0", vendor: "Factory",
        summary: "Gemma 3 text architecture (q/k norms, 5:1 local/global attention with two RoPE bases); GGUF and safetensors",
        features: ["gemma3", "gemma3_text"])
    static let hfArchitecture = "Gemma3ForCausalLM"

    /// One decoder layer: Gemma 2's, and (1 + w) RMSNorm weights for each head of q and of k.
    struct Layer {
        let standard: StandardLayer
        let qNorm, kNorm, postAttentionNorm, preFeedforwardNorm, postFeedforwardNorm: ParameterSpec

        init(_ l: Int, _ c: DecoderConfiguration) {
            let n = LayerNames(l), h = c.hiddenSize
            standard = StandardLayer(l, c)
            qNorm = n.norm("self_attn.q_norm", gguf: "attn_q_norm", c.headDim)
            kNorm = n.norm("self_attn.k_norm", gguf: "attn_k_norm", c.headDim)
            postAttentionNorm = n.norm("post_attention_layernorm", gguf: "post_attention_norm", h)
            preFeedforwardNorm = n.norm("pre_feedforward_layernorm", gguf: "ffn_norm", h)
            postFeedforwardNorm = n.norm("post_feedforward_layernorm", gguf: "post_ffw_norm", h)
        }

        /// (StandardLayer's post_attention_layernorm is this layer's own, under llama.cpp's other name.)
        var all: [ParameterSpec] {
            let s = standard
            return [s.inputNorm, s.q, s.k, s.v, qNorm, kNorm, s.o, postAttentionNorm, preFeedforwardNorm, s.gate, s.up, s.down, postFeedforwardNorm]
        }
    }

    let parts: DecoderParts<Layer>
    let attentionScale: Float
    let attentionSoftcap, finalSoftcap: Float
    /// The window of each layer (0: full attention), and the RoPE of the sliding layers (the full ones use parts.rotary).
    let windows: [Int]
    let localRotary: RotaryEmbedding

    init(config c: DecoderConfiguration) throws {
        let sliding: [Bool], window: Int
        switch c.source {
        case .hf(let o):
            guard o["use_bidirectional_attention"]?.boolValue != true else {
                throw PluginError.unsupported("gemma3: use_bidirectional_attention (an embedding model) is not supported")
            }
            guard let s = try c.number(hf: "query_pre_attn_scalar", gguf: "", absent: 256), s > 0 else {
                throw PluginError.invalidArgument("config.json: 'query_pre_attn_scalar' must be a positive number")
            }
            attentionScale = Float(1 / s.squareRoot())
            let pattern = Int(try c.number(hf: "sliding_window_pattern", gguf: "", absent: 6) ?? 6)
            guard pattern > 0 else { throw PluginError.invalidArgument("config.json: 'sliding_window_pattern' must be positive") }
            sliding = try c.slidingLayerTypes() ?? (0..<c.layers).map { ($0 + 1) % pattern != 0 }
            window = c.slidingWindow > 0 ? c.slidingWindow : (try c.number(hf: "sliding_window", gguf: "", absent: 4096)).map(Int.init) ?? 0
            // transformers 5 keeps one rope_parameters entry per layer type; earlier configs, rope_theta,
            // rope_scaling (the full layers') and rope_local_base_freq
            let perType = o["rope_parameters"]?["full_attention"] != nil ? o["rope_parameters"]?.objectValue : nil
            let full = perType?["full_attention"]?.objectValue ?? o["rope_scaling"]?.objectValue ?? JSONObject()
            let local = perType?["sliding_attention"]?.objectValue ?? JSONObject()
            let global = try RotaryEmbedding(hf: full, config: o, theta: Float(o["rope_theta"]?.doubleValue ?? 1_000_000), headDim: c.headDim,
                                             maxPositions: c.contextLength)
            localRotary = try RotaryEmbedding(hf: local, config: o, theta: Float(o["rope_local_base_freq"]?.doubleValue ?? 10_000),
                                              headDim: c.headDim, maxPositions: c.contextLength)
            var withGlobal = c
            withGlobal.rotary = global
            parts = DecoderParts(withGlobal, layer: Layer.init)
        case .gguf(let m, let a):
            attentionScale = 1 / Float(c.layers == 62 ? c.hiddenSize / c.heads : c.headDim).squareRoot()
            // as llama.cpp reads them: no window, no sliding layers; a per-layer array, a period, or five of every six
            switch m["\(a).attention.sliding_window_pattern"] {
            case _ where c.slidingWindow == 0: sliding = Array(repeating: false, count: c.layers)
            case .array(let flags)?:
                guard flags.count == c.layers, flags.allSatisfy({ $0.boolValue != nil }) else {
                    throw PluginError.invalidArgument("GGUF metadata: '\(a).attention.sliding_window_pattern' must list \(c.layers) booleans")
                }
                sliding = flags.map { $0.boolValue ?? false }
            case .int(let n)? where n > 0: sliding = (0..<c.layers).map { ($0 + 1) % Int(n) != 0 }
            default: sliding = (0..<c.layers).map { ($0 + 1) % 6 != 0 }
            }
            window = c.slidingWindow
            localRotary = RotaryEmbedding(theta: Float(m["\(a).rope.freq_base_swa"]?.doubleValue ?? 10_000), dim: c.rotary.dim, scaling: .none)
            parts = DecoderParts(c, layer: Layer.init)
        }
        attentionSoftcap = Float(try c.number(hf: "attn_logit_softcapping", gguf: "attn_logit_softcapping") ?? 0)
        finalSoftcap = Float(try c.number(hf: "final_logit_softcapping", gguf: "final_logit_softcapping") ?? 0)
        guard attentionSoftcap >= 0, finalSoftcap >= 0 else { throw PluginError.invalidArgument("gemma3: soft caps must not be negative") }
        windows = sliding.map { $0 ? window : 0 }
    }

    var parameters: [ParameterSpec] { parts.parameters(\.all) }
    var hfConfigExtras: [(String, JSON)] {
        var local = localRotary.scaling.hfConfig?.objectValue ?? JSONObject([("rope_type", "default")])
        local["rope_theta"] = .double(Double(localRotary.theta))
        var full = parts.rotary.scaling.hfConfig?.objectValue ?? JSONObject([("rope_type", "default")])
        full["rope_theta"] = .double(Double(parts.rotary.theta))
        return [("model_type", "gemma3_text"), ("hidden_activation", "gelu_pytorch_tanh"), ("hidden_act", "gelu_pytorch_tanh"),
                ("query_pre_attn_scalar", .double(Double(1 / (attentionScale * attentionScale)))),
                ("attn_logit_softcapping", attentionSoftcap > 0 ? .double(Double(attentionSoftcap)) : .null),
                ("final_logit_softcapping", finalSoftcap > 0 ? .double(Double(finalSoftcap)) : .null),
                ("sliding_window", .int(Int64(windows.max() ?? 0))),
                ("layer_types", .array(windows.map { $0 > 0 ? "sliding_attention" : "full_attention" })),
                ("rope_parameters", .object(JSONObject([("sliding_attention", .object(local)), ("full_attention", .object(full))]))),
                ("rope_scaling", .null)]
    }
    var describeExtras: [(String, JSON)] { finalSoftcap > 0 ? [("final_logit_softcapping", .double(Double(finalSoftcap)))] : [] }

    func ggufMetadataExtras() throws -> [GGUFMetadataEntry] {
        throw PluginError.unsupported("gemma3 models are not written as GGUF from a Hugging Face directory yet (its local rope base and sliding pattern)")
    }

    func fromGGUF(_ t: HostTensor, _ spec: ParameterSpec) throws -> HostTensor { try DecoderBlocks.gemmaNormFromGGUF(t, spec) }
    func ggufWriteRule(_ spec: ParameterSpec) -> GGUFWriteRule? { DecoderBlocks.gemmaGGUFWriteRule(spec) }

    func forward(_ w: HeldWeights, ids: [Int], batch B: Int, seq T: Int, positions: [Int], mask: HostTensor?,
                 cache: OpaquePointer?) throws -> HostTensor {
        let eps = config.rmsNormEps
        func norm(_ x: HostTensor, _ spec: ParameterSpec) throws -> HostTensor { try DecoderBlocks.offsetRMSNorm(x, try w[spec], eps: eps) }
        let (global, local) = (parts.rotary.at(positions), localRotary.at(positions))
        let x = try DecoderBlocks.scaledEmbed(try w[embedTokens], ids: ids, batch: B, seq: T, hidden: config.hiddenSize)
        Engine.observe("embed_tokens", x)
        let out = try DecoderBlocks.layers(parts.layers.count, x, mask: mask, cache: cache) { l, input, mask in
            let layer = parts.layers[l], s = layer.standard
            let headNorms = DecoderBlocks.HeadNorms(q: try Engine.addScalar(try w[layer.qNorm], 1), k: try Engine.addScalar(try w[layer.kNorm], 1), eps: eps)
            let x = try DecoderBlocks.sandwich(input, pre: try w[s.inputNorm], post: try w[layer.postAttentionNorm], eps: eps) { h in
                let attended = try DecoderBlocks.attention(h, q: s.q, k: s.k, v: s.v, o: s.o, parts.attentionShape, positions: positions,
                                                           rotary: windows[l] > 0 ? local : global, mask: mask, cache: cache, layer: l, batch: B, seq: T,
                                                           headNorms: headNorms, slidingWindow: windows[l], scale: attentionScale, softcap: attentionSoftcap)
                Engine.observe("layer\(l).self_attn_out", attended)
                return attended
            }
            return try DecoderBlocks.sandwich(x, pre: try w[layer.preFeedforwardNorm], post: try w[layer.postFeedforwardNorm], eps: eps) { h in
                try DecoderBlocks.gegluMLP(h, gate: s.gate, up: s.up, down: s.down)
            }
        }
        let normed = try norm(out, parts.finalNorm)
        Engine.observe("final_norm_out", normed)
        return try Engine.linear("lm_head", normed)  // the host applies final_logit_softcapping, when set
    }
}

@_cdecl("factory_plugin_entry")
public func factoryPluginEntry() -> UnsafePointer<factory_entry_t> {
    PluginEntry.table { PluginManifest(modelFamilies: [DecoderFamily<Gemma3>.self]) }
}
