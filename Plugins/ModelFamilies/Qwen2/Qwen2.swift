// The qwen2 plugin: Qwen2 and Qwen2.5 models — the Llama decoder with biases on
// the q, k and v projections; llama.cpp does not permute their GGUF q/k rows.
import CFactoryABI
import DecoderFamilyKit
import FactoryPluginKit

enum Qwen2: DecoderVariant {
    static let descriptor = ComponentDescriptor(
        id: "org.factory.model.qwen2", name: "qwen2", version: "1.0.0", vendor: "Factory",
        summary: "Qwen2 / Qwen2.5 architecture (q/k/v biases); GGUF and safetensors", features: ["qwen2"])
    static let attentionBias = true
    static let ggufPermutesQK = false
}

@_cdecl("factory_plugin_entry")
public func factoryPluginEntry() -> UnsafePointer<factory_entry_t> {
    PluginEntry.table { PluginManifest(modelFamilies: [DecoderFamily<Qwen2>.self]) }
}
