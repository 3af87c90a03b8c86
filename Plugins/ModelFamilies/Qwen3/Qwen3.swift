// The qwen3 plugin: Qwen3 dense models. transformers/models/qwen3/modeling_qwen3.py, read as one file:
// the Llama decoder without q/k/v biases, with an RMSNorm over each head of q and of k before RoPE
// (q_norm, k_norm: weights [head_dim]); llama.cpp does not permute its GGUF q/k rows.
import CFactoryABI
import DecoderFamilyKit
import FactoryJSON
import FactoryPluginKit

struct Qwen3: DecoderArchitecture {
    static let descriptor = ComponentDescriptor(
        id: "org.factory.model.qwen3", name: "qwen3", version: "1.0.0", vendor: "Factory",
        summary: "Qwen3 architecture (per-head q/k RMSNorm); GGUF and safetensors", features: ["qwen3"])
    static let hfArchitecture = "Qwen3ForCausalLM"

    /// One decoder layer's parameters, each named once.
    struct Layer {
        let inputNorm, q, k, v, qNorm, kNorm, o, postNorm, gate, up, down: ParameterSpec

        init(_ l: Int, _ c: DecoderConfiguration) {
            let n = LayerNames(l), h = c.hiddenSize, qSize = c.heads * c.headDim, kvSize = c.kvHeads * c.headDim
            inputNorm = n.norm("input_layernorm", gguf: "attn_norm", h)
            q = n.linear("self_attn.q_proj", gguf: "attn_q", [qSize, h])
            k = n.linear("self_attn.k_proj", gguf: "attn_k", [kvSize, h])
            v = n.linear("self_attn.v_proj", gguf: "attn_v", [kvSize, h])
            qNorm = n.norm("self_attn.q_norm", gguf: "attn_q_norm", c.headDim)
            kNorm = n.norm("self_attn.k_norm", gguf: "attn_k_norm", c.headDim)
            o = n.linear("self_attn.o_proj", gguf: "attn_output", [h, qSize])
            postNorm = n.norm("post_attention_layernorm", gguf: "ffn_norm", h)
            gate = n.linear("mlp.gate_proj", gguf: "ffn_gate", [c.intermediateSize, h])
            up = n.linear("mlp.up_proj", gguf: "ffn_up", [c.intermediateSize, h])
            down = n.linear("mlp.down_proj", gguf: "ffn_down", [h, c.intermediateSize])
        }

        var all: [ParameterSpec] { [inputNorm, q, k, v, qNorm, kNorm, o, postNorm, gate, up, down] }
    }

    let config: DecoderConfiguration
    let embedTokens, finalNorm, lmHead: ParameterSpec
    let layers: [Layer]
    let invFreq: [Float]
    let attentionShape: DecoderBlocks.AttentionShape

    init(config c: DecoderConfiguration) {
        config = c
        (embedTokens, finalNorm, lmHead) = (.embedTokens(c), .finalNorm(c), .lmHead(c))
        layers = (0..<c.layers).map { Layer($0, c) }
        invFreq = c.inverseFrequencies()
        attentionShape = .init(heads: c.heads, kvHeads: c.kvHeads, headDim: c.headDim)
    }

    var parameters: [ParameterSpec] { [embedTokens] + layers.flatMap(\.all) + [finalNorm, lmHead] }
    var hfConfigExtras: [(String, JSON)] { [("attention_bias", false)] }

    /// Qwen3's GGUF tensors are laid out as Hugging Face's.
    func fromGGUF(_ t: HostTensor, _ spec: ParameterSpec) throws -> HostTensor { t }

    func forward(_ w: HeldWeights, ids: [Int], batch B: Int, seq T: Int, positions: [Int], mask: HostTensor?,
                 cache: OpaquePointer?) throws -> HostTensor {
        // Qwen's sliding window covers only the layers from max_window_layers on: not implemented, so refused
        guard config.slidingWindow == 0 else { throw PluginError.unsupported("qwen3: use_sliding_window is not implemented") }
        let eps = config.rmsNormEps
        let x = try DecoderBlocks.embed(try w[embedTokens], ids: ids, batch: B, seq: T, hidden: config.hiddenSize)
        Engine.observe("embed_tokens", x)
        let out = try DecoderBlocks.layers(layers.count, x, mask: mask, cache: cache) { l, input, mask in
            let layer = layers[l]
            let h = try Engine.rmsNorm(input, try w[layer.inputNorm], eps: eps)
            let norms = DecoderBlocks.HeadNorms(q: try w[layer.qNorm], k: try w[layer.kNorm], eps: eps)
            let attended = try DecoderBlocks.attention(h, q: layer.q, k: layer.k, v: layer.v, o: layer.o, attentionShape, positions: positions,
                                                       invFreq: invFreq, mask: mask, cache: cache, layer: l, batch: B, seq: T, headNorms: norms)
            Engine.observe("layer\(l).self_attn_out", attended)
            let x = try Engine.add(input, attended)
            let h2 = try Engine.rmsNorm(x, try w[layer.postNorm], eps: eps)
            return try Engine.add(x, try DecoderBlocks.swigluMLP(h2, gate: layer.gate, up: layer.up, down: layer.down))
        }
        let normed = try Engine.rmsNorm(out, try w[finalNorm], eps: eps)
        Engine.observe("final_norm_out", normed)
        return try Engine.linear("lm_head", normed)
    }
}

@_cdecl("factory_plugin_entry")
public func factoryPluginEntry() -> UnsafePointer<factory_entry_t> {
    PluginEntry.table { PluginManifest(modelFamilies: [DecoderFamily<Qwen3>.self]) }
}
