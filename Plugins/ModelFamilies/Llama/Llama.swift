// The llama plugin: SmolLM2, Llama 2/3, TinyLlama and other Llama-architecture models, from GGUF or
// safetensors. transformers/models/llama/modeling_llama.py, read as one file: pre-norm decoder layers
// (RMSNorm → grouped-query attention with RoPE → residual, RMSNorm → SwiGLU MLP → residual), a final
// RMSNorm and the LM head (tied to the embeddings when the checkpoint has none).
import CFactoryABI
import DecoderFamilyKit
import FactoryJSON
import FactoryPluginKit

struct Llama: DecoderArchitecture, DecoderPartsHolder {
    static let descriptor = ComponentDescriptor(
        id: "org.factory.model.llama", name: "llama", version: "1.0.0", vendor: "Factory",
        summary: "Llama architecture (SmolLM2, Llama 2/3, TinyLlama); GGUF and safetensors", features: ["llama"])
    static let hfArchitecture = "LlamaForCausalLM"

    let parts: DecoderParts<StandardLayer>

    init(config c: DecoderConfiguration) { parts = DecoderParts(c, layer: StandardLayer.init) }

    var parameters: [ParameterSpec] { parts.parameters(\.all) }
    var hfConfigExtras: [(String, JSON)] { [("attention_bias", false)] }

    /// llama.cpp permuted the rows of q and k per head; undone here.
    func fromGGUF(_ t: HostTensor, _ spec: ParameterSpec) throws -> HostTensor { try DecoderBlocks.llamaFromGGUF(t, spec, config) }
    func ggufWriteRule(_ spec: ParameterSpec) -> GGUFWriteRule? { DecoderBlocks.llamaGGUFWriteRule(spec, config) }

    func forward(_ w: HeldWeights, ids: [Int], batch B: Int, seq T: Int, positions: [Int], mask: HostTensor?,
                 cache: OpaquePointer?) throws -> HostTensor {
        try parts.llamaForward(w, ids: ids, batch: B, seq: T, mask: mask, cache: cache) { l, x, mask in
            try parts.preNormLayer(l, x, parts.layers[l], w, positions: positions, mask: mask, cache: cache, batch: B, seq: T)
        }
    }
}

@_cdecl("factory_plugin_entry")
public func factoryPluginEntry() -> UnsafePointer<factory_entry_t> {
    PluginEntry.table { PluginManifest(modelFamilies: [DecoderFamily<Llama>.self]) }
}
