// The model-family plugin around a decoder architecture: what every family does the same way —
// reading its hyper-parameters from config.json or GGUF metadata, describing its parameters,
// mapping checkpoint names, loading and registering weights (one host scope each, so a quantizer
// packing on registration never holds them all in fp32) — so that a family file holds only what
// is its own: names and shapes, GGUF quirks, and its forward pass (see Llama.swift, Qwen2.swift).
import CFactoryABI
import FactoryJSON
import FactoryPluginKit

/// One decoder architecture, as its family file writes it.
public protocol DecoderArchitecture {
    static var descriptor: ComponentDescriptor { get }
    /// Hugging Face's class name, for a saved config.json ("LlamaForCausalLM").
    static var hfArchitecture: String { get }
    /// Built once from the hyper-parameters: the parameter specs the forward pass reads.
    init(config: DecoderConfiguration) throws
    var config: DecoderConfiguration { get }
    /// Every parameter, each named once (embeddings, layers, final norm, LM head).
    var parameters: [ParameterSpec] { get }
    /// The spec of the token embeddings and of the LM head (tied when the checkpoint has no head).
    var embedTokens: ParameterSpec { get }
    var lmHead: ParameterSpec { get }
    /// Config keys of this architecture's own, written to a saved config.json ("attention_bias").
    var hfConfigExtras: [(String, JSON)] { get }
    /// The modules LoRA adapts when the config names none (PEFT's default for the architecture).
    var defaultLoRATargets: [String] { get }
    /// Keys of describe() beyond the common ones ("final_logit_softcapping").
    var describeExtras: [(String, JSON)] { get }
    /// A GGUF quirk: the tensor read from a GGUF file for `spec`, as Hugging Face lays it out.
    func fromGGUF(_ t: HostTensor, _ spec: ParameterSpec) throws -> HostTensor
    /// The inverse of fromGGUF, declared for the host to apply when it writes a GGUF (`factory export`):
    /// nil (the default) when this architecture does not say, and its models are not exported to GGUF.
    func ggufWriteRule(_ spec: ParameterSpec) -> GGUFWriteRule?
    /// llama.cpp's name for this architecture (GGUF general.architecture) when its models are written as
    /// GGUF: the descriptor's name unless llama.cpp calls it otherwise.
    var ggufArchitecture: String { get }
    /// llama.cpp's keys of this architecture's own beyond the common ones (`DecoderConfiguration.ggufMetadata`),
    /// for a model read from config.json and written as GGUF; throws naming what GGUF cannot say.
    func ggufMetadataExtras() throws -> [GGUFMetadataEntry]
    /// ids [batch, seq] at `positions` → logits [batch, seq, vocab]; `weights` holds the non-linear ones.
    func forward(_ weights: HeldWeights, ids: [Int], batch: Int, seq: Int, positions: [Int], mask: HostTensor?,
                 cache: OpaquePointer?) throws -> HostTensor
}

/// How a parameter is laid out in a GGUF file, relative to Hugging Face's layout.
public enum GGUFWriteRule: Sendable, Equatable {
    /// The same values in the same order.
    case asIs
    /// llama.cpp's per-head row order of q and k (its converter's permute): GGUF row (h, 2i + j) holds
    /// Hugging Face row (h, j·D/2 + i), D the head size.
    case permuteRows(heads: Int, headDim: Int)
    /// Every value plus 1 (Gemma's RMSNorm weights, which llama.cpp stores as 1 + w).
    case plusOne

    /// The describe() form: {"rule": "as_is" | "permute_rows" | "plus_one", "heads", "head_dim"}.
    var json: JSONObject {
        switch self {
        case .asIs: return JSONObject([("rule", "as_is")])
        case .permuteRows(let heads, let headDim):
            return JSONObject([("rule", "permute_rows"), ("heads", .int(Int64(heads))), ("head_dim", .int(Int64(headDim)))])
        case .plusOne: return JSONObject([("rule", "plus_one")])
        }
    }
}

extension DecoderArchitecture {
    public func ggufWriteRule(_ spec: ParameterSpec) -> GGUFWriteRule? { nil }
    public var ggufArchitecture: String { Self.descriptor.name }
    public func ggufMetadataExtras() throws -> [GGUFMetadataEntry] { [] }
    public var describeExtras: [(String, JSON)] { [] }
    public var defaultLoRATargets: [String] { ["q_proj", "v_proj"] }
}

public final class DecoderFamily<Architecture: DecoderArchitecture>: ModelFamilyPlugin {
    public static var descriptor: ComponentDescriptor { Architecture.descriptor }
    var name: String { Architecture.descriptor.name }
    private(set) var model: Architecture
    /// Whether load_weights tied the head to the embeddings (a GGUF says so only by lacking output.weight).
    private var tiedByLoad: Bool?
    let held = HeldWeights()
    /// GGUF tensor name → spec, from the specs themselves.
    private lazy var byGGUFName: [String: ParameterSpec] = Dictionary(model.parameters.map { ($0.gguf, $0) }, uniquingKeysWith: { a, _ in a })
    private lazy var byHFName = Set(model.parameters.map(\.name))

    public init(config reader: ConfigReader) throws {
        let config: DecoderConfiguration
        if let hf = reader.value("hf_config"), hf != .null {
            guard let object = hf.objectValue else { throw PluginError.invalidArgument("\(Architecture.descriptor.name): hf_config must be an object") }
            config = try DecoderConfiguration(hf: object)
        } else if let gguf = reader.value("gguf"), let object = gguf.objectValue {
            config = try DecoderConfiguration(gguf: object, architecture: object["general.architecture"]?.stringValue ?? Architecture.descriptor.name)
        } else {
            throw PluginError.invalidArgument("\(Architecture.descriptor.name): create() needs {\"hf_config\": ...} or {\"gguf\": ...}")
        }
        model = try Architecture(config: config)
    }

    public func describe() throws -> JSON {
        let c = model.config
        var o = JSONObject([
            ("parameters", .array(model.parameters.map { p in
                .object(JSONObject([("name", .string(p.name)), ("shape", .array(p.shape.map { .int(Int64($0)) })), ("linear", .bool(p.linear))]))
            })),
            ("default_lora_targets", .array(model.defaultLoRATargets.map { .string($0) })),
            ("kv_cache", .object(JSONObject([("layers", .int(Int64(c.layers))), ("kv_heads", .int(Int64(c.kvHeads))), ("head_dim", .int(Int64(c.headDim)))]))),
            ("vocab_size", .int(Int64(c.vocabSize))),
            ("context_length", .int(Int64(c.contextLength))),
            ("hf_config", .object(hfConfig())),
        ])
        for (key, value) in model.describeExtras { o[key] = value }
        let rules = model.parameters.map { spec in model.ggufWriteRule(spec).map { (spec, $0) } }
        if !rules.isEmpty, rules.allSatisfy({ $0 != nil }) {  // every parameter says how it is written, or none is exported
            o["gguf_write"] = .array(rules.compactMap { $0 }.map { spec, rule in
                var entry = rule.json
                entry["name"] = .string(spec.name)
                entry["gguf"] = .string(spec.gguf)
                return .object(entry)
            })
            o["gguf_architecture"] = .string(model.ggufArchitecture)
            // what a GGUF written from this model says of it; a string: why none can be written
            do {
                let entries = try model.config.ggufMetadata(architecture: model.ggufArchitecture) + model.ggufMetadataExtras()
                o["gguf_metadata"] = .array(entries.map(\.json))
            } catch let e as PluginError {
                o["gguf_metadata"] = .string(e.message)
            }
        }
        return .object(o)
    }

    /// The Hugging Face config.json of this model (what a full fine-tune saves beside its weights).
    func hfConfig() -> JSONObject {
        let c = model.config
        var o = JSONObject([
            ("architectures", [.string(Architecture.hfArchitecture)]), ("model_type", .string(name)),
            ("hidden_size", .int(Int64(c.hiddenSize))), ("intermediate_size", .int(Int64(c.intermediateSize))),
            ("num_hidden_layers", .int(Int64(c.layers))), ("num_attention_heads", .int(Int64(c.heads))),
            ("num_key_value_heads", .int(Int64(c.kvHeads))), ("head_dim", .int(Int64(c.headDim))), ("vocab_size", .int(Int64(c.vocabSize))),
            ("rms_norm_eps", .double(Double(c.rmsNormEps))), ("rope_theta", .double(Double(c.ropeTheta))), ("hidden_act", "silu"),
            ("max_position_embeddings", .int(Int64(c.contextLength))), ("tie_word_embeddings", .bool(tiedByLoad ?? c.tieWordEmbeddings ?? false)),
        ])
        for (key, value) in model.hfConfigExtras { o[key] = value }
        o["torch_dtype"] = "float32"
        if let scaling = c.rotary.scaling.hfConfig { o["rope_scaling"] = scaling }
        if c.rotary.dim != c.headDim { o["partial_rotary_factor"] = .double(Double(c.rotary.dim) / Double(c.headDim)) }
        return o
    }

    /// Every parameter maps to itself (safetensors) or from its llama.cpp name (GGUF); rotary caches and
    /// llama.cpp's rope_freqs are dropped (recomputed, or read by loadWeights); anything else is not found,
    /// so the host refuses a checkpoint with tensors this architecture has no place for.
    public func mapCheckpointName(format: String, name: String) throws -> String? {
        if format == "safetensors" {
            if name.hasSuffix("rotary_emb.inv_freq") { return nil }
            guard byHFName.contains(name) else { throw PluginError.notFound("\(name): not a parameter of a \(self.name) model") }
            return name
        }
        // llama.cpp's Llama 3.1 frequency divisors and Phi-3's LongRoPE factors: read by loadWeights, not parameters
        if ["rope_freqs.weight", "rope_factors_long.weight", "rope_factors_short.weight"].contains(name) { return nil }
        guard let spec = byGGUFName[name] else { throw PluginError.notFound("\(name): unknown GGUF tensor '\(name)'") }
        return spec.name
    }

    public func loadWeights() throws {
        let gguf = try Engine.checkpointFormat() == "gguf"
        if gguf, let factors = try Engine.checkpointTensor("rope_freqs.weight") {  // llama.cpp's form of Llama 3.1's scaling
            var c = model.config
            c.rotary.frequencyFactors = try Engine.values(factors)
            guard c.rotary.frequencyFactors?.count == c.rotary.dim / 2 else {
                throw PluginError.shapeMismatch("\(name): rope_freqs.weight has \(try Engine.shape(factors)) values for \(c.rotary.dim / 2) frequencies")
            }
            model = try Architecture(config: c)
        }
        if gguf, case .longrope(_, _, let original, let attention) = model.config.rotary.scaling {  // Phi-3's factors, as tensors
            guard let long = try Engine.checkpointTensor("rope_factors_long.weight"), let short = try Engine.checkpointTensor("rope_factors_short.weight") else {
                throw PluginError.invalidArgument("\(name): the GGUF declares LongRoPE but has no rope_factors_long/short.weight")
            }
            var c = model.config
            let (l, s) = (try Engine.values(long), try Engine.values(short))
            guard l.count == c.rotary.dim / 2, s.count == l.count else {
                throw PluginError.shapeMismatch("\(name): rope_factors_long/short.weight hold \(l.count)/\(s.count) values for \(c.rotary.dim / 2) frequencies")
            }
            c.rotary = RotaryEmbedding(theta: c.rotary.theta, dim: c.rotary.dim,
                                       scaling: .longrope(short: s, long: l, original: original, attentionFactor: attention))
            model = try Architecture(config: c)
        }
        for spec in model.parameters {
            try Engine.scope {  // its fp32 form goes as soon as it is registered
                let source = gguf ? spec.gguf : spec.name
                guard var t = try Engine.checkpointTensor(source) else {
                    if spec.name == model.lmHead.name && model.config.tieWordEmbeddings != false { return }  // tied: reuses the embeddings
                    throw PluginError.invalidArgument("\(self.name): the checkpoint has no '\(source)' (\(spec.name))")
                }
                guard try Engine.shape(t) == spec.shape else {
                    throw PluginError.shapeMismatch("\(self.name): '\(source)' has shape \(try Engine.shape(t)), the config says \(spec.shape)")
                }
                if gguf { t = try model.fromGGUF(t, spec) }
                try Engine.register(spec.name, t)
                if !spec.linear && !spec.name.hasSuffix(".bias") { try held.keep(spec, t) }
            }
        }
        if !held.has(model.lmHead), held.has(model.embedTokens) {
            let embed = try held[model.embedTokens]
            try Engine.register(model.lmHead.name, embed)  // tie_word_embeddings
            tiedByLoad = true
        } else {
            tiedByLoad = false
        }
    }

    /// Every position goes to the host's rope, and a scaled RoPE's length is the largest position: per-row
    /// positions work as they are.
    public var rowPositions: Bool { true }

    public func forward(ids: [Int], batch: Int, seq: Int, positions: [Int], mask: HostTensor?, cache: OpaquePointer?) throws -> HostTensor {
        try model.forward(held, ids: ids, batch: batch, seq: seq, positions: positions, mask: mask, cache: cache)
    }
}
