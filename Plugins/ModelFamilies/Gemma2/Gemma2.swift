// The gemma2 plugin: Gemma 2 models. transformers/models/gemma2/modeling_gemma2.py, read as one file:
// Gemma (√hidden-scaled embeddings, (1 + w) RMSNorm, GeGLU) with
// - a norm before and after both attention and MLP: x + post(attn(pre(x))), then x + post(mlp(pre(x)));
// - attention scores scaled by query_pre_attn_scalar^-½ (not head_dim^-½) and soft-capped:
//   cap · tanh(scores / cap) with cap = attn_logit_softcapping;
// - sliding-window attention on the layers `layer_types` marks (by default every other one, from the first);
// - final logits soft-capped by final_logit_softcapping, which this family declares in describe() and the
//   host applies (so that training can fuse the cap into its loss).
// llama.cpp adds 1 to the norm weights (undone on load) and does not store query_pre_attn_scalar: it
// scales by head_dim^-½, except for the 27B model (46 layers) by (hidden / heads)^-½; so does this file.
import CFactoryABI
import DecoderFamilyKit
import FactoryJSON
import FactoryPluginKit

struct Gemma2: DecoderArchitecture, DecoderPartsHolder {
    static let descriptor = ComponentDescriptor(
        id: "org.factory.model.gemma2", name: "gemma2", version: "1.0.0", vendor: "Factory",
        summary: "Gemma 2 architecture (pre/post norms, soft-capped attention and logits, alternating sliding window); GGUF and safetensors",
        features: ["gemma2"])
    static let hfArchitecture = "Gemma2ForCausalLM"

    /// One decoder layer: attention and GeGLU MLP, each between a norm before and a norm after.
    struct Layer {
        let standard: StandardLayer
        let postAttentionNorm, preFeedforwardNorm, postFeedforwardNorm: ParameterSpec

        init(_ l: Int, _ c: DecoderConfiguration) {
            let n = LayerNames(l), h = c.hiddenSize
            standard = StandardLayer(l, c)
            postAttentionNorm = n.norm("post_attention_layernorm", gguf: "post_attention_norm", h)
            preFeedforwardNorm = n.norm("pre_feedforward_layernorm", gguf: "ffn_norm", h)
            postFeedforwardNorm = n.norm("post_feedforward_layernorm", gguf: "post_ffw_norm", h)
        }

        /// (StandardLayer's post_attention_layernorm is this layer's own, under llama.cpp's other name.)
        var all: [ParameterSpec] {
            let s = standard
            return [s.inputNorm, s.q, s.k, s.v, s.o, postAttentionNorm, preFeedforwardNorm, s.gate, s.up, s.down, postFeedforwardNorm]
        }
    }

    let parts: DecoderParts<Layer>
    /// Scores are multiplied by this (query_pre_attn_scalar^-½).
    let attentionScale: Float
    /// attn_logit_softcapping and final_logit_softcapping (0: none).
    let attentionSoftcap, finalSoftcap: Float
    /// The window of each layer (0: full attention).
    let windows: [Int]

    init(config c: DecoderConfiguration) throws {
        parts = DecoderParts(c, layer: Layer.init)
        let ggufScalar = c.layers == 46 ? Double(c.hiddenSize / c.heads) : Double(c.headDim)
        let scalar: Double
        if case .gguf = c.source { scalar = ggufScalar } else {
            guard let s = try c.number(hf: "query_pre_attn_scalar", gguf: "", absent: 256), s > 0 else {
                throw PluginError.invalidArgument("config.json: 'query_pre_attn_scalar' must be a positive number")
            }
            scalar = s
        }
        attentionScale = Float(1 / scalar.squareRoot())
        attentionSoftcap = Float(try c.number(hf: "attn_logit_softcapping", gguf: "attn_logit_softcapping", absent: 50) ?? 0)
        finalSoftcap = Float(try c.number(hf: "final_logit_softcapping", gguf: "final_logit_softcapping", absent: 30) ?? 0)
        guard attentionSoftcap >= 0, finalSoftcap >= 0 else { throw PluginError.invalidArgument("gemma2: soft caps must not be negative") }
        let sliding = try c.slidingLayerTypes() ?? (0..<c.layers).map { $0 % 2 == 0 }
        let window = c.slidingWindow > 0 ? c.slidingWindow : (try c.number(hf: "sliding_window", gguf: "attention.sliding_window", absent: 4096)).map(Int.init) ?? 0
        windows = sliding.map { $0 ? window : 0 }
    }

    var parameters: [ParameterSpec] { parts.parameters(\.all) }
    var hfConfigExtras: [(String, JSON)] {
        [("hidden_activation", "gelu_pytorch_tanh"), ("hidden_act", "gelu_pytorch_tanh"),
         ("query_pre_attn_scalar", .double(Double(1 / (attentionScale * attentionScale)))),
         ("attn_logit_softcapping", attentionSoftcap > 0 ? .double(Double(attentionSoftcap)) : .null),
         ("final_logit_softcapping", finalSoftcap > 0 ? .double(Double(finalSoftcap)) : .null),
         ("sliding_window", .int(Int64(windows.max() ?? 0))),
         ("layer_types", .array(windows.map { $0 > 0 ? "sliding_attention" : "full_attention" }))]
    }
    var describeExtras: [(String, JSON)] { finalSoftcap > 0 ? [("final_logit_softcapping", .double(Double(finalSoftcap)))] : [] }

    /// The soft caps; llama.cpp derives the attention scale and alternates sliding layers, so a model that
    /// does otherwise has no GGUF form.
    func ggufMetadataExtras() throws -> [GGUFMetadataEntry] {
        let ggufScalar = config.layers == 46 ? Double(config.hiddenSize / config.heads) : Double(config.headDim)
        guard abs(Double(1 / (attentionScale * attentionScale)) - ggufScalar) <= 1e-3 * ggufScalar else {
            throw PluginError.unsupported("gemma2: query_pre_attn_scalar \(1 / (attentionScale * attentionScale)) is not the \(ggufScalar) llama.cpp derives; this model has no GGUF form")
        }
        guard windows.enumerated().allSatisfy({ ($0.offset % 2 == 0) == ($0.element > 0) }) else {
            throw PluginError.unsupported("gemma2: its sliding layers are not every other one from the first, as llama.cpp runs them; this model has no GGUF form")
        }
        let window = windows.max() ?? 0
        return [.float32("gemma2.attn_logit_softcapping", Double(attentionSoftcap)), .float32("gemma2.final_logit_softcapping", Double(finalSoftcap))]
            + (config.slidingWindow > 0 || window == 0 ? [] : [.uint32("gemma2.attention.sliding_window", window)])
    }

    func fromGGUF(_ t: HostTensor, _ spec: ParameterSpec) throws -> HostTensor { try DecoderBlocks.gemmaNormFromGGUF(t, spec) }
    func ggufWriteRule(_ spec: ParameterSpec) -> GGUFWriteRule? { DecoderBlocks.gemmaGGUFWriteRule(spec) }

    func forward(_ w: HeldWeights, ids: [Int], batch B: Int, seq T: Int, positions: [Int], mask: HostTensor?,
                 cache: OpaquePointer?) throws -> HostTensor {
        let eps = config.rmsNormEps
        func norm(_ x: HostTensor, _ spec: ParameterSpec) throws -> HostTensor { try DecoderBlocks.offsetRMSNorm(x, try w[spec], eps: eps) }
        let x = try DecoderBlocks.scaledEmbed(try w[embedTokens], ids: ids, batch: B, seq: T, hidden: config.hiddenSize)
        Engine.observe("embed_tokens", x)
        let rotary = parts.rotary.at(positions)
        let out = try DecoderBlocks.layers(parts.layers.count, x, mask: mask, cache: cache) { l, input, mask in
            let layer = parts.layers[l], s = layer.standard
            let x = try DecoderBlocks.sandwich(input, pre: try w[s.inputNorm], post: try w[layer.postAttentionNorm], eps: eps) { h in
                let attended = try DecoderBlocks.attention(h, q: s.q, k: s.k, v: s.v, o: s.o, parts.attentionShape, positions: positions, rotary: rotary,
                                                           mask: mask, cache: cache, layer: l, batch: B, seq: T, slidingWindow: windows[l],
                                                           scale: attentionScale, softcap: attentionSoftcap)
                Engine.observe("layer\(l).self_attn_out", attended)
                return attended
            }
            return try DecoderBlocks.sandwich(x, pre: try w[layer.preFeedforwardNorm], post: try w[layer.postFeedforwardNorm], eps: eps) { h in
                try DecoderBlocks.gegluMLP(h, gate: s.gate, up: s.up, down: s.down)
            }
        }
        let normed = try norm(out, parts.finalNorm)
        Engine.observe("final_norm_out", normed)
        return try Engine.linear("lm_head", normed)  // the host applies final_logit_softcapping
    }
}

@_cdecl("factory_plugin_entry")
public func factoryPluginEntry() -> UnsafePointer<factory_entry_t> {
    PluginEntry.table { PluginManifest(modelFamilies: [DecoderFamily<Gemma2>.self]) }
}
