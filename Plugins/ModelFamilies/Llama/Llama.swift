// The llama plugin: SmolLM2, Llama 2/3, TinyLlama and other Llama-architecture
// models, from GGUF (undoing llama.cpp's q/k row permutation) or safetensors.
import CFactoryABI
import DecoderFamilyKit
import FactoryPluginKit

enum Llama: DecoderVariant {
    static let descriptor = ComponentDescriptor(
        id: "org.factory.model.llama", name: "llama", version: "1.0.0", vendor: "Factory",
        summary: "Llama architecture (SmolLM2, Llama 2/3, TinyLlama); GGUF and safetensors", features: ["llama"])
    static let attentionBias = false
    static let ggufPermutesQK = true
}

@_cdecl("factory_plugin_entry")
public func factoryPluginEntry() -> UnsafePointer<factory_entry_t> {
    PluginEntry.table { PluginManifest(modelFamilies: [DecoderFamily<Llama>.self]) }
}
