// A Llama-style decoder, shared by the llama and qwen2 plugins (each links its
// own copy). Port of transformers/models/llama/modeling_llama.py and
// qwen2/modeling_qwen2.py: pre-norm decoder layers (RMSNorm → attention with
// RoPE and grouped-query heads → residual, RMSNorm → SwiGLU MLP → residual),
// final RMSNorm, LM head (tied or not). Qwen2 adds q/k/v biases, which the
// host's linear picks up by name. Every op goes through the host; the linear
// layers through the hookable `linear`, so LoRA and quantizers apply without
// this file knowing.
import CFactoryABI
import FactoryJSON
import FactoryPluginKit

/// What distinguishes one Llama-style architecture from another.
public protocol DecoderVariant {
    static var descriptor: ComponentDescriptor { get }
    /// q, k and v projections carry biases (Qwen2).
    static var attentionBias: Bool { get }
    /// llama.cpp's converter permuted the q/k rows of this architecture (Llama: yes; Qwen2: no).
    static var ggufPermutesQK: Bool { get }
}

public final class DecoderFamily<Variant: DecoderVariant>: ModelFamilyPlugin {
    public static var descriptor: ComponentDescriptor { Variant.descriptor }
    var name: String { Variant.descriptor.name }

    let config: DecoderConfiguration
    /// Weights the forward reads directly (embeddings, norms), retained until deinit.
    private var held: [String: HostTensor] = [:]
    private lazy var invFreq = config.inverseFrequencies()

    public init(config reader: ConfigReader) throws {
        if let hf = reader.value("hf_config"), hf != .null {
            guard let object = hf.objectValue else { throw PluginError.invalidArgument("\(Variant.descriptor.name): hf_config must be an object") }
            config = try DecoderConfiguration(hf: object)
        } else if let gguf = reader.value("gguf"), let object = gguf.objectValue {
            config = try DecoderConfiguration(gguf: object, architecture: object["general.architecture"]?.stringValue ?? Variant.descriptor.name)
        } else {
            throw PluginError.invalidArgument("\(Variant.descriptor.name): create() needs {\"hf_config\": ...} or {\"gguf\": ...}")
        }
    }

    deinit { for t in held.values { Engine.release(t) } }

    // MARK: - Parameter table

    /// (name, shape, is a linear layer) for every parameter, in Hugging Face names.
    var parameters: [(String, [Int], Bool)] {
        let c = config
        var p: [(String, [Int], Bool)] = [("model.embed_tokens.weight", [c.vocabSize, c.hiddenSize], false)]
        for l in 0..<c.layers {
            let pre = "model.layers.\(l)."
            p += [
                (pre + "input_layernorm.weight", [c.hiddenSize], false),
                (pre + "self_attn.q_proj.weight", [c.heads * c.headDim, c.hiddenSize], true),
                (pre + "self_attn.k_proj.weight", [c.kvHeads * c.headDim, c.hiddenSize], true),
                (pre + "self_attn.v_proj.weight", [c.kvHeads * c.headDim, c.hiddenSize], true),
            ]
            if Variant.attentionBias {
                p += [(pre + "self_attn.q_proj.bias", [c.heads * c.headDim], false), (pre + "self_attn.k_proj.bias", [c.kvHeads * c.headDim], false),
                      (pre + "self_attn.v_proj.bias", [c.kvHeads * c.headDim], false)]
            }
            p += [
                (pre + "self_attn.o_proj.weight", [c.hiddenSize, c.heads * c.headDim], true),
                (pre + "post_attention_layernorm.weight", [c.hiddenSize], false),
                (pre + "mlp.gate_proj.weight", [c.intermediateSize, c.hiddenSize], true),
                (pre + "mlp.up_proj.weight", [c.intermediateSize, c.hiddenSize], true),
                (pre + "mlp.down_proj.weight", [c.hiddenSize, c.intermediateSize], true),
            ]
        }
        p.append(("model.norm.weight", [c.hiddenSize], false))
        p.append(("lm_head.weight", [c.vocabSize, c.hiddenSize], false))
        return p
    }

    public func describe() throws -> JSON {
        .object(JSONObject([
            ("parameters", .array(parameters.map { name, shape, linear in
                .object(JSONObject([("name", .string(name)), ("shape", .array(shape.map { .int(Int64($0)) })), ("linear", .bool(linear))]))
            })),
            ("default_lora_targets", ["q_proj", "v_proj"]),
            ("kv_cache", .object(JSONObject([("layers", .int(Int64(config.layers))), ("kv_heads", .int(Int64(config.kvHeads))),
                                             ("head_dim", .int(Int64(config.headDim)))]))),
            ("vocab_size", .int(Int64(config.vocabSize))),
            ("context_length", .int(Int64(config.contextLength))),
            ("hf_config", .object(hfConfig())),
        ]))
    }

    /// The Hugging Face config.json of this model (what a full fine-tune saves beside its weights).
    func hfConfig() -> JSONObject {
        let c = config, type = Variant.descriptor.name
        var o = JSONObject([
            ("architectures", [.string(type.prefix(1).uppercased() + type.dropFirst() + "ForCausalLM")]), ("model_type", .string(type)),
            ("hidden_size", .int(Int64(c.hiddenSize))), ("intermediate_size", .int(Int64(c.intermediateSize))),
            ("num_hidden_layers", .int(Int64(c.layers))), ("num_attention_heads", .int(Int64(c.heads))),
            ("num_key_value_heads", .int(Int64(c.kvHeads))), ("head_dim", .int(Int64(c.headDim))), ("vocab_size", .int(Int64(c.vocabSize))),
            ("rms_norm_eps", .double(Double(c.rmsNormEps))), ("rope_theta", .double(Double(c.ropeTheta))), ("hidden_act", "silu"),
            ("max_position_embeddings", .int(Int64(c.contextLength))), ("tie_word_embeddings", .bool(c.tieWordEmbeddings ?? false)),
            ("attention_bias", .bool(Variant.attentionBias)), ("torch_dtype", "float32"),
        ])
        switch c.ropeScaling {
        case .none: break
        case .linear(let f): o["rope_scaling"] = .object(JSONObject([("rope_type", "linear"), ("factor", .double(Double(f)))]))
        case .llama3(let f, let low, let high, let original):
            o["rope_scaling"] = .object(JSONObject([("rope_type", "llama3"), ("factor", .double(Double(f))), ("low_freq_factor", .double(Double(low))),
                                                    ("high_freq_factor", .double(Double(high))), ("original_max_position_embeddings", .double(Double(original)))]))
        }
        return o
    }

    // MARK: - Checkpoint names

    public func mapCheckpointName(format: String, name: String) throws -> String? {
        if format == "safetensors" {
            if name.hasSuffix("rotary_emb.inv_freq") { return nil }
            return name
        }
        if name == "rope_freqs.weight" { return nil }  // llama.cpp's precomputed llama3 factors; recomputed here
        if let global = GGUFNames.global[name] { return global }
        let parts = name.split(separator: ".")
        if parts.count == 4, parts[0] == "blk", let layer = Int(parts[1]), let mapped = GGUFNames.layer[String(parts[2])] {
            return "model.layers.\(layer).\(mapped).\(parts[3])"
        }
        throw PluginError.notFound("\(name): unknown GGUF tensor '\(name)'")
    }

    /// The GGUF name of a Hugging Face parameter.
    func ggufName(_ hf: String) -> String {
        if let global = GGUFNames.global.first(where: { $0.value == hf }) { return global.key }
        let parts = hf.split(separator: ".")
        let layer = parts[2]
        let module = parts[3..<(parts.count - 1)].joined(separator: ".")
        let short = GGUFNames.layer.first { $0.value == module }?.key ?? module
        return "blk.\(layer).\(short).\(parts.last!)"
    }

    // MARK: - Loading

    public func loadWeights() throws {
        let gguf = try Engine.checkpointFormat() == "gguf"
        for (name, shape, _) in parameters {
            // One scope per weight: its fp32 form (and the unpermuted copy) goes as soon as it is
            // registered, so a quantizer packing on registration never holds them all at once.
            try Engine.scope {
                let source = gguf ? ggufName(name) : name
                guard var t = try Engine.checkpointTensor(source) else {
                    if name == "lm_head.weight" && config.tieWordEmbeddings != false { return }  // tied: reuses the embeddings
                    throw PluginError.invalidArgument("\(self.name): the checkpoint has no '\(source)' (\(name))")
                }
                guard try Engine.shape(t) == shape else {
                    throw PluginError.shapeMismatch("\(self.name): '\(source)' has shape \(try Engine.shape(t)), the config says \(shape)")
                }
                if gguf && Variant.ggufPermutesQK && name.hasSuffix("q_proj.weight") { t = try unpermute(t, heads: config.heads) }
                if gguf && Variant.ggufPermutesQK && name.hasSuffix("k_proj.weight") { t = try unpermute(t, heads: config.kvHeads) }
                try Engine.register(name, t)
                if !name.contains("_proj") { held[name] = try Engine.retain(t) }
            }
        }
        if held["lm_head.weight"] == nil, let embed = held["model.embed_tokens.weight"] {
            try Engine.register("lm_head.weight", embed)  // tie_word_embeddings
        }
    }

    /// Undoes llama.cpp's q/k row order: per head, HF row j·D/2 + i ← GGUF row 2i + j.
    func unpermute(_ w: HostTensor, heads: Int) throws -> HostTensor {
        let D = config.headDim, inFeatures = try Engine.shape(w)[1]
        let split = try Engine.reshape(w, [heads, D / 2, 2, inFeatures])
        return try Engine.contiguous(try Engine.reshape(try Engine.contiguous(try Engine.permute(split, [0, 2, 1, 3])), [heads * D, inFeatures]))
    }

    // MARK: - Forward

    public func forward(ids: [Int], batch B: Int, seq T: Int, positions: [Int], mask: HostTensor?, cache: OpaquePointer?) throws -> HostTensor {
        let c = config
        guard let embed = held["model.embed_tokens.weight"], let finalNorm = held["model.norm.weight"] else {
            throw PluginError.invalidArgument("\(name): forward() before load_weights()")
        }
        var x = try Engine.reshape(try Engine.embedding(embed, ids: ids), [B, T, c.hiddenSize])
        Engine.observe("embed_tokens", x)
        for l in 0..<c.layers {
            let input = x
            if cache == nil {  // training and scoring: a checkpointed block (the host decides whether to recompute)
                let kept = try mask.map { try Engine.retain($0) }  // the block owns it: backward re-runs the layer
                x = try Engine.checkpoint(input, keeping: kept.map { [$0] } ?? []) { [self] h in
                    try layer(l, h, positions: positions, mask: kept, cache: nil, batch: B, seq: T)
                }
            } else {
                x = try Engine.scope { try layer(l, input, positions: positions, mask: mask, cache: cache, batch: B, seq: T) }
            }
            Engine.observe("layer\(l)_out", x)
        }
        let normed = try Engine.rmsNorm(x, finalNorm, eps: c.rmsNormEps)
        Engine.observe("final_norm_out", normed)
        return try Engine.linear("lm_head", normed)
    }

    /// One decoder layer, in its own host scope: its intermediates go when it returns.
    func layer(_ l: Int, _ input: HostTensor, positions: [Int], mask: HostTensor?, cache: OpaquePointer?, batch B: Int, seq T: Int) throws -> HostTensor {
        let c = config
        let pre = "model.layers.\(l)."
        guard let n1 = held[pre + "input_layernorm.weight"], let n2 = held[pre + "post_attention_layernorm.weight"] else {
            throw PluginError.invalidArgument("\(name): layer \(l) is not loaded")
        }
        // attention
        let h = try Engine.rmsNorm(input, n1, eps: c.rmsNormEps)
        var q = try Engine.reshape(try Engine.linear(pre + "self_attn.q_proj", h), [B, T, c.heads, c.headDim])
        var k = try Engine.reshape(try Engine.linear(pre + "self_attn.k_proj", h), [B, T, c.kvHeads, c.headDim])
        var v = try Engine.reshape(try Engine.linear(pre + "self_attn.v_proj", h), [B, T, c.kvHeads, c.headDim])
        q = try Engine.permute(try Engine.rope(q, positions: positions, invFreq: invFreq), [0, 2, 1, 3])
        k = try Engine.permute(try Engine.rope(k, positions: positions, invFreq: invFreq), [0, 2, 1, 3])
        v = try Engine.permute(v, [0, 2, 1, 3])
        if let cache { (k, v) = try Engine.kvCacheUpdate(cache, layer: l, k: k, v: v) }
        let a = try Engine.attention(q, k, v, mask: mask, scale: 1 / Float(c.headDim).squareRoot())
        let merged = try Engine.reshape(try Engine.permute(a, [0, 2, 1, 3]), [B, T, c.heads * c.headDim])
        let attended = try Engine.linear(pre + "self_attn.o_proj", merged)
        Engine.observe("layer\(l).self_attn_out", attended)
        let x = try Engine.add(input, attended)
        // MLP
        let h2 = try Engine.rmsNorm(x, n2, eps: c.rmsNormEps)
        let gated = try Engine.swiglu(try Engine.linear(pre + "mlp.gate_proj", h2), try Engine.linear(pre + "mlp.up_proj", h2))
        return try Engine.add(x, try Engine.linear(pre + "mlp.down_proj", gated))
    }
}

/// llama.cpp's tensor names → Hugging Face's, for Llama-style decoders.
enum GGUFNames {
    static let layer: [String: String] = [
        "attn_norm": "input_layernorm", "attn_q": "self_attn.q_proj", "attn_k": "self_attn.k_proj", "attn_v": "self_attn.v_proj",
        "attn_output": "self_attn.o_proj", "ffn_norm": "post_attention_layernorm", "ffn_gate": "mlp.gate_proj",
        "ffn_up": "mlp.up_proj", "ffn_down": "mlp.down_proj",
    ]
    static let global = ["token_embd.weight": "model.embed_tokens.weight", "output_norm.weight": "model.norm.weight",
                                  "output.weight": "lm_head.weight"]

}
