// The qwen2 plugin: Qwen2 and Qwen2.5 models. transformers/models/qwen2/modeling_qwen2.py, read as one
// file: the Llama decoder with biases on the q, k and v projections (the host's linear adds a module's
// bias by name); llama.cpp does not permute their GGUF q/k rows.
import CFactoryABI
import DecoderFamilyKit
import FactoryJSON
import FactoryPluginKit

struct Qwen2: DecoderArchitecture, DecoderPartsHolder {
    static let descriptor = ComponentDescriptor(
        id: "org.factory.model.qwen2", name: "qwen2", version: "1.0.0", vendor: "Factory",
        summary: "Qwen2 / Qwen2.5 architecture (q/k/v biases); GGUF and safetensors", features: ["qwen2"])
    static let hfArchitecture = "Qwen2ForCausalLM"

    /// One decoder layer: the standard one, and biases on q, k and v.
    struct Layer {
        let standard: StandardLayer
        let qBias, kBias, vBias: ParameterSpec

        init(_ l: Int, _ c: DecoderConfiguration) {
            let n = LayerNames(l)
            standard = StandardLayer(l, c)
            qBias = n.bias("self_attn.q_proj", gguf: "attn_q", c.heads * c.headDim)
            kBias = n.bias("self_attn.k_proj", gguf: "attn_k", c.kvHeads * c.headDim)
            vBias = n.bias("self_attn.v_proj", gguf: "attn_v", c.kvHeads * c.headDim)
        }

        var all: [ParameterSpec] {
            let s = standard
            return [s.inputNorm, s.q, s.k, s.v, qBias, kBias, vBias, s.o, s.postNorm, s.gate, s.up, s.down]
        }
    }

    let parts: DecoderParts<Layer>

    init(config c: DecoderConfiguration) { parts = DecoderParts(c, layer: Layer.init) }

    var parameters: [ParameterSpec] { parts.parameters(\.all) }
    var hfConfigExtras: [(String, JSON)] { [("attention_bias", true)] }

    /// Qwen2's GGUF tensors are laid out as Hugging Face's.
    func fromGGUF(_ t: HostTensor, _ spec: ParameterSpec) throws -> HostTensor { t }
    func ggufWriteRule(_ spec: ParameterSpec) -> GGUFWriteRule? { .asIs }

    func forward(_ w: HeldWeights, ids: [Int], batch B: Int, seq T: Int, positions: [Int], mask: HostTensor?,
                 cache: OpaquePointer?) throws -> HostTensor {
        // Qwen's sliding window covers only the layers from max_window_layers on: not implemented, so refused
        guard config.slidingWindow == 0 else { throw PluginError.unsupported("qwen2: use_sliding_window is not implemented") }
        return try parts.llamaForward(w, ids: ids, batch: B, seq: T, mask: mask, cache: cache) { l, x, mask in
            try parts.preNormLayer(l, x, parts.layers[l].standard, w, positions: positions, mask: mask, cache: cache, batch: B, seq: T)
        }
    }
}

@_cdecl("factory_plugin_entry")
public func factoryPluginEntry() -> UnsafePointer<factory_entry_t> {
    PluginEntry.table { PluginManifest(modelFamilies: [DecoderFamily<Qwen2>.self]) }
}
