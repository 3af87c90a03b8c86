// The gemma plugin: Gemma (1) models. transformers/models/gemma/modeling_gemma.py, read as one file:
// the Llama decoder with three changes — the embeddings are scaled by √hidden_size, every RMSNorm
// multiplies by (1 + weight), and the MLP is GeGLU with the tanh GELU: down(gelu_tanh(gate(h)) · up(h)).
// llama.cpp stores the norm weights with the 1 already added; that is undone on load.
import CFactoryABI
import DecoderFamilyKit
import FactoryJSON
import FactoryPluginKit

struct Gemma: DecoderArchitecture, DecoderPartsHolder {
    static let descriptor = ComponentDescriptor(
        id: "org.factory.model.gemma", name: "gemma", version: "1.0.0", vendor: "Factory",
        summary: "Gemma architecture (scaled embeddings, (1 + w) RMSNorm, GeGLU); GGUF and safetensors", features: ["gemma"])
    static let hfArchitecture = "GemmaForCausalLM"

    let parts: DecoderParts<StandardLayer>

    init(config c: DecoderConfiguration) { parts = DecoderParts(c, layer: StandardLayer.init) }

    var parameters: [ParameterSpec] { parts.parameters(\.all) }
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
        let out = try DecoderBlocks.layers(parts.layers.count, x, mask: mask, cache: cache) { l, input, mask in
            let layer = parts.layers[l]
            let h = try norm(input, try w[layer.inputNorm])
            let attended = try DecoderBlocks.attention(h, q: layer.q, k: layer.k, v: layer.v, o: layer.o, parts.attentionShape, positions: positions,
                                                       invFreq: parts.invFreq, mask: mask, cache: cache, layer: l, batch: B, seq: T)
            Engine.observe("layer\(l).self_attn_out", attended)
            let x = try Engine.add(input, attended)
            let h2 = try norm(x, try w[layer.postNorm])
            let mlp = try Engine.linear(layer.down.module, try Engine.mul(try Engine.geluTanh(try Engine.linear(layer.gate.module, h2)),
                                                                        try Engine.linear(layer.up.module, h2)))
            return try Engine.add(x, mlp)
        }
        let normed = try norm(out, try w[parts.finalNorm])
        Engine.observe("final_norm_out", normed)
        return try Engine.linear("lm_head", normed)
    }
}

@_cdecl("factory_plugin_entry")
public func factoryPluginEntry() -> UnsafePointer<factory_entry_t> {
    PluginEntry.table { PluginManifest(modelFamilies: [DecoderFamily<Gemma>.self]) }
}
