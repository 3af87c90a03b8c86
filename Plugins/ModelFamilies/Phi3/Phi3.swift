// The phi3 plugin: Phi-3 and Phi-4-mini models. transformers/models/phi3/modeling_phi3.py, read as one
// file: the Llama decoder with two fused projections — qkv_proj gives q, k and v as consecutive column
// blocks, gate_up_proj gives gate then up — each one linear module, so LoRA targets `qkv_proj` and
// `gate_up_proj` by name as PEFT does; RoPE on the first partial_rotary_factor of each head; LongRoPE
// scaling (rope_scaling type longrope) and the config's sliding window when set.
// llama.cpp keeps the same fused tensors (attn_qkv, ffn_up) in HF's row order and LongRoPE's factors as
// tensors (rope_factors_long/short.weight, read by the kit). Long or short factors are chosen by the
// sequence's length, as transformers does (llama.cpp chooses by the context size).
import CFactoryABI
import DecoderFamilyKit
import FactoryJSON
import FactoryPluginKit

struct Phi3: DecoderArchitecture, DecoderPartsHolder {
    static let descriptor = ComponentDescriptor(
        id: "org.factory.model.phi3", name: "phi3", version: "1.0.0", vendor: "Factory",
        summary: "Phi-3 architecture (fused qkv and gate_up projections, partial RoPE, LongRoPE); safetensors and GGUF", features: ["phi3"])
    static let hfArchitecture = "Phi3ForCausalLM"

    /// One decoder layer: two RMSNorms, the fused qkv projection, the output projection, the fused gate/up projection, down.
    struct Layer {
        let inputNorm, qkv, o, postNorm, gateUp, down: ParameterSpec

        init(_ l: Int, _ c: DecoderConfiguration) {
            let n = LayerNames(l), h = c.hiddenSize, qSize = c.heads * c.headDim
            inputNorm = n.norm("input_layernorm", gguf: "attn_norm", h)
            qkv = n.linear("self_attn.qkv_proj", gguf: "attn_qkv", [qSize + 2 * c.kvHeads * c.headDim, h])
            o = n.linear("self_attn.o_proj", gguf: "attn_output", [h, qSize])
            postNorm = n.norm("post_attention_layernorm", gguf: "ffn_norm", h)
            gateUp = n.linear("mlp.gate_up_proj", gguf: "ffn_up", [2 * c.intermediateSize, h])
            down = n.linear("mlp.down_proj", gguf: "ffn_down", [h, c.intermediateSize])
        }

        var all: [ParameterSpec] { [inputNorm, qkv, o, postNorm, gateUp, down] }
    }

    let parts: DecoderParts<Layer>

    init(config c: DecoderConfiguration) { parts = DecoderParts(c, layer: Layer.init) }

    var parameters: [ParameterSpec] { parts.parameters(\.all) }
    var defaultLoRATargets: [String] { ["qkv_proj"] }
    var hfConfigExtras: [(String, JSON)] {
        [("sliding_window", config.slidingWindow > 0 ? .int(Int64(config.slidingWindow)) : .null)]
    }

    /// Phi-3's GGUF tensors are laid out as Hugging Face's.
    func fromGGUF(_ t: HostTensor, _ spec: ParameterSpec) throws -> HostTensor { t }
    func ggufWriteRule(_ spec: ParameterSpec) -> GGUFWriteRule? { .asIs }

    func forward(_ w: HeldWeights, ids: [Int], batch B: Int, seq T: Int, positions: [Int], mask: HostTensor?,
                 cache: OpaquePointer?) throws -> HostTensor {
        let c = config, s = parts.attentionShape, rotary = parts.rotary.at(positions)
        let qSize = c.heads * c.headDim, kvSize = c.kvHeads * c.headDim, I = c.intermediateSize
        return try parts.llamaForward(w, ids: ids, batch: B, seq: T, mask: mask, cache: cache) { l, x, mask in
            let layer = parts.layers[l]
            let qkv = try Engine.linear(layer.qkv.module, try Engine.rmsNorm(x, try w[layer.inputNorm], eps: c.rmsNormEps))
            let attended = try DecoderBlocks.attend(
                q: try Engine.slice(qkv, axis: -1, start: 0, length: qSize), k: try Engine.slice(qkv, axis: -1, start: qSize, length: kvSize),
                v: try Engine.slice(qkv, axis: -1, start: qSize + kvSize, length: kvSize), o: layer.o, s, positions: positions, rotary: rotary,
                mask: mask, cache: cache, layer: l, batch: B, seq: T, slidingWindow: c.slidingWindow)
            Engine.observe("layer\(l).self_attn_out", attended)
            let h = try Engine.add(x, attended)
            let gateUp = try Engine.linear(layer.gateUp.module, try Engine.rmsNorm(h, try w[layer.postNorm], eps: c.rmsNormEps))
            let mlp = try Engine.swiglu(try Engine.slice(gateUp, axis: -1, start: 0, length: I), try Engine.slice(gateUp, axis: -1, start: I, length: I))
            return try Engine.add(h, try Engine.linear(layer.down.module, mlp))
        }
    }
}

@_cdecl("factory_plugin_entry")
public func factoryPluginEntry() -> UnsafePointer<factory_entry_t> {
    PluginEntry.table { PluginManifest(modelFamilies: [DecoderFamily<Phi3>.self]) }
}
