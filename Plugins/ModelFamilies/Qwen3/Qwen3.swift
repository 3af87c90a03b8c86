// The qwen3 plugin: Qwen3 dense models. transformers/models/qwen3/modeling_qwen3.py, read as one file:
// the Llama decoder without q/k/v biases, with an RMSNorm over each head of q and of k before RoPE
// (q_norm, k_norm: weights [head_dim]); llama.cpp does not permute its GGUF q/k rows.
import CFactoryABI
import DecoderFamilyKit
import FactoryJSON
import FactoryPluginKit

struct Qwen3: DecoderArchitecture, DecoderPartsHolder {
    static let descriptor = ComponentDescriptor(
        id: "org.factory.model.qwen3", name: "qwen3", version: "1.0.0", vendor: "Factory",
        summary: "Qwen3 architecture (per-head q/k RMSNorm); GGUF and safetensors", features: ["qwen3"])
    static let hfArchitecture = "Qwen3ForCausalLM"

    /// One decoder layer: the standard one, and RMSNorm weights for each head of q and of k.
    struct Layer {
        let standard: StandardLayer
        let qNorm, kNorm: ParameterSpec

        init(_ l: Int, _ c: DecoderConfiguration) {
            let n = LayerNames(l)
            standard = StandardLayer(l, c)
            qNorm = n.norm("self_attn.q_norm", gguf: "attn_q_norm", c.headDim)
            kNorm = n.norm("self_attn.k_norm", gguf: "attn_k_norm", c.headDim)
        }

        var all: [ParameterSpec] {
            let s = standard
            return [s.inputNorm, s.q, s.k, s.v, qNorm, kNorm, s.o, s.postNorm, s.gate, s.up, s.down]
        }
    }

    let parts: DecoderParts<Layer>

    init(config c: DecoderConfiguration) { parts = DecoderParts(c, layer: Layer.init) }

    var parameters: [ParameterSpec] { parts.parameters(\.all) }
    var hfConfigExtras: [(String, JSON)] { [("attention_bias", false)] }

    /// Qwen3's GGUF tensors are laid out as Hugging Face's.
    func fromGGUF(_ t: HostTensor, _ spec: ParameterSpec) throws -> HostTensor { t }
    func ggufWriteRule(_ spec: ParameterSpec) -> GGUFWriteRule? { .asIs }

    func forward(_ w: HeldWeights, ids: [Int], batch B: Int, seq T: Int, positions: [Int], mask: HostTensor?,
                 cache: OpaquePointer?) throws -> HostTensor {
        // Qwen's sliding window covers only the layers from max_window_layers on: not implemented, so refused
        guard config.slidingWindow == 0 else { throw PluginError.unsupported("qwen3: use_sliding_window is not implemented") }
        return try parts.llamaForward(w, ids: ids, batch: B, seq: T, mask: mask, cache: cache) { l, x, mask in
            let layer = parts.layers[l]
            let norms = DecoderBlocks.HeadNorms(q: try w[layer.qNorm], k: try w[layer.kNorm], eps: config.rmsNormEps)
            return try parts.preNormLayer(l, x, layer.standard, w, positions: positions, mask: mask, cache: cache, batch: B, seq: T, headNorms: norms)
        }
    }
}

@_cdecl("factory_plugin_entry")
public func factoryPluginEntry() -> UnsafePointer<factory_entry_t> {
    PluginEntry.table { PluginManifest(modelFamilies: [DecoderFamily<Qwen3>.self]) }
}
