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

    func fromGGUF(_ t: HostTensor, _ spec: ParameterSpec) throws -> HostTensor { try DecoderBlocks.gemmaNormFromGGUF(t, spec) }
    func ggufWriteRule(_ spec: ParameterSpec) -> GGUFWriteRule? { DecoderBlocks.gemmaGGUFWriteRule(spec) }

    func forward(_ w: HeldWeights, ids: [Int], batch B: Int, seq T: Int, positions: [Int], mask: HostTensor?,
                 cache: OpaquePointer?) throws -> HostTensor {
        let eps = config.rmsNormEps
        let x = try DecoderBlocks.scaledEmbed(try w[embedTokens], ids: ids, batch: B, seq: T, hidden: config.hiddenSize)
        Engine.observe("embed_tokens", x)
        let out = try DecoderBlocks.layers(parts.layers.count, x, mask: mask, cache: cache) { l, input, mask in
            let layer = parts.layers[l]
            let h = try DecoderBlocks.offsetRMSNorm(input, try w[layer.inputNorm], eps: eps)
            let attended = try DecoderBlocks.attention(h, q: layer.q, k: layer.k, v: layer.v, o: layer.o, parts.attentionShape, positions: positions,
                                                       rotary: parts.rotary.at(positions), mask: mask, cache: cache, layer: l, batch: B, seq: T)
            Engine.observe("layer\(l).self_attn_out", attended)
            let x = try Engine.add(input, attended)
            let h2 = try DecoderBlocks.offsetRMSNorm(x, try w[layer.postNorm], eps: eps)
            return try Engine.add(x, try DecoderBlocks.gegluMLP(h2, gate: layer.gate, up: layer.up, down: layer.down))
        }
        let normed = try DecoderBlocks.offsetRMSNorm(out, try w[parts.finalNorm], eps: eps)
        Engine.observe("final_norm_out", normed)
        return try Engine.linear("lm_head", normed)
    }
}

@_cdecl("factory_plugin_entry")
public func factoryPluginEntry() -> UnsafePointer<factory_entry_t> {
    PluginEntry.table { PluginManifest(modelFamilies: [DecoderFamily<Gemma>.self]) }
}
