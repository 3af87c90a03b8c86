// The gemma plugin: Gemma (1) models. transformers/models/gemma/modeling_gemma.py, read as one file:
// the Llama decoder with three changes — the embeddings are scaled by √hidden_size, every RMSNorm
// multiplies by (1 + weight), and the MLP is GeGLU with the tanh GELU: down(gelu_tanh(gate(h)) · up(h)).
// llama.cpp stores the norm weights with the 1 already added; that is undone on load.
import CFactoryABI
import DecoderFamilyKit
import FactoryJSON
import FactoryPluginKit

struct Gemma: DecoderArchitecture {
    static let descriptor = ComponentDescriptor(
        id: "org.factory.model.gemma", name: "gemma", version: "1.0.0", vendor: "Factory",
        summary: "Gemma architecture (scaled embeddings, (1 + w) RMSNorm, GeGLU); GGUF and safetensors", features: ["gemma"])
    static let hfArchitecture = "GemmaForCausalLM"

    /// One decoder layer's parameters, each named once.
    struct Layer {
        let inputNorm, q, k, v, o, postNorm, gate, up, down: ParameterSpec

        init(_ l: Int, _ c: DecoderConfiguration) {
            let n = LayerNames(l), h = c.hiddenSize, qSize = c.heads * c.headDim, kvSize = c.kvHeads * c.headDim
            inputNorm = n.norm("input_layernorm", gguf: "attn_norm", h)
            q = n.linear("self_attn.q_proj", gguf: "attn_q", [qSize, h])
            k = n.linear("self_attn.k_proj", gguf: "attn_k", [kvSize, h])
            v = n.linear("self_attn.v_proj", gguf: "attn_v", [kvSize, h])
            o = n.linear("self_attn.o_proj", gguf: "attn_output", [h, qSize])
            postNorm = n.norm("post_attention_layernorm", gguf: "ffn_norm", h)
            gate = n.linear("mlp.gate_proj", gguf: "ffn_gate", [c.intermediateSize, h])
            up = n.linear("mlp.up_proj", gguf: "ffn_up", [c.intermediateSize, h])
            down = n.linear("mlp.down_proj", gguf: "ffn_down", [h, c.intermediateSize])
        }

        var all: [ParameterSpec] { [inputNorm, q, k, v, o, postNorm, gate, up, down] }
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
    var hfConfigExtras: [(String, JSON)] { [("hidden_activation", "gelu_pytorch_tanh"), ("hidden_act", "gelu_pytorch_tanh")] }

    /// llama.cpp's converter adds 1 to Gemma's norm weights; Hugging Face's layout keeps them as trained.
    func fromGGUF(_ t: HostTensor, _ spec: ParameterSpec) throws -> HostTensor {
        spec.name.hasSuffix("norm.weight") ? try Engine.addScalar(t, -1) : t
    }

    /// Gemma's RMSNorm: x / rms(x) · (1 + weight).
    func norm(_ x: HostTensor, _ weight: HostTensor) throws -> HostTensor {
        try Engine.rmsNorm(x, try Engine.addScalar(weight, 1), eps: config.rmsNormEps)
    }

    func forward(_ w: HeldWeights, ids: [Int], batch B: Int, seq T: Int, positions: [Int], mask: HostTensor?,
                 cache: OpaquePointer?) throws -> HostTensor {
        let embedded = try DecoderBlocks.embed(try w[embedTokens], ids: ids, batch: B, seq: T, hidden: config.hiddenSize)
        let x = try Engine.scale(embedded, Float(config.hiddenSize).squareRoot())
        Engine.observe("embed_tokens", x)
        let out = try DecoderBlocks.layers(layers.count, x, mask: mask, cache: cache) { l, input, mask in
            let layer = layers[l]
            let h = try norm(input, try w[layer.inputNorm])
            let attended = try DecoderBlocks.attention(h, q: layer.q, k: layer.k, v: layer.v, o: layer.o, attentionShape, positions: positions,
                                                       invFreq: invFreq, mask: mask, cache: cache, layer: l, batch: B, seq: T)
            Engine.observe("layer\(l).self_attn_out", attended)
            let x = try Engine.add(input, attended)
            let h2 = try norm(x, try w[layer.postNorm])
            let mlp = try Engine.linear(layer.down.module, try Engine.mul(try Engine.geluTanh(try Engine.linear(layer.gate.module, h2)),
                                                                        try Engine.linear(layer.up.module, h2)))
            return try Engine.add(x, mlp)
        }
        let normed = try norm(out, try w[finalNorm])
        Engine.observe("final_norm_out", normed)
        return try Engine.linear("lm_head", normed)
    }
}

@_cdecl("factory_plugin_entry")
public func factoryPluginEntry() -> UnsafePointer<factory_entry_t> {
    PluginEntry.table { PluginManifest(modelFamilies: [DecoderFamily<Gemma>.self]) }
}
