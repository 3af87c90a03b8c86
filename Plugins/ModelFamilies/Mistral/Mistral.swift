// The mistral plugin: Mistral 7B and other MistralForCausalLM models. transformers/models/mistral/
// modeling_mistral.py, read as one file: the Llama decoder whose attention sees only the last
// `sliding_window` keys when the config sets one (null: every key). llama.cpp converts Mistral to its
// "llama" architecture, so a Mistral GGUF loads through the llama plugin; this one reads safetensors
// directories (and a GGUF that names "mistral"), with llama.cpp's q/k row order undone as for Llama.
import CFactoryABI
import DecoderFamilyKit
import FactoryJSON
import FactoryPluginKit

struct Mistral: DecoderArchitecture, DecoderPartsHolder {
    static let descriptor = ComponentDescriptor(
        id: "org.factory.model.mistral", name: "mistral", version: "1.0.0", vendor: "Factory",
        summary: "Mistral architecture (Llama with sliding-window attention); safetensors and GGUF", features: ["mistral"])
    static let hfArchitecture = "MistralForCausalLM"

    let parts: DecoderParts<StandardLayer>

    init(config c: DecoderConfiguration) { parts = DecoderParts(c, layer: StandardLayer.init) }

    var parameters: [ParameterSpec] { parts.parameters(\.all) }
    var hfConfigExtras: [(String, JSON)] { [("sliding_window", config.slidingWindow > 0 ? .int(Int64(config.slidingWindow)) : .null)] }

    /// llama.cpp permuted the rows of q and k per head; undone here.
    func fromGGUF(_ t: HostTensor, _ spec: ParameterSpec) throws -> HostTensor { try DecoderBlocks.llamaFromGGUF(t, spec, config) }
    func ggufWriteRule(_ spec: ParameterSpec) -> GGUFWriteRule? { DecoderBlocks.llamaGGUFWriteRule(spec, config) }
    /// llama.cpp runs Mistral models as llama (its converter writes them so, without the sliding window).
    var ggufArchitecture: String { "llama" }

    func forward(_ w: HeldWeights, ids: [Int], batch B: Int, seq T: Int, positions: [Int], mask: HostTensor?,
                 cache: OpaquePointer?) throws -> HostTensor {
        try parts.llamaForward(w, ids: ids, batch: B, seq: T, mask: mask, cache: cache) { l, x, mask in
            try parts.preNormLayer(l, x, parts.layers[l], w, positions: positions, mask: mask, cache: cache, batch: B, seq: T)
        }
    }
}

@_cdecl("factory_plugin_entry")
public func factoryPluginEntry() -> UnsafePointer<factory_entry_t> {
    PluginEntry.table { PluginManifest(modelFamilies: [DecoderFamily<Mistral>.self]) }
}
