import FactoryJSON

/// A model family's describe() JSON, checked when the model loads: every key the host relies on present
/// and well-typed, nothing it does not know (a misspelt optional key would otherwise be ignored), or an
/// error naming the key. The contract is documented in kinds/model_family.h and docs/abi.md.
public struct ModelFamilyDescription: Sendable {
    /// One entry of "parameters".
    public struct Parameter: Sendable {
        /// The Hugging Face checkpoint name ("model.layers.0.self_attn.q_proj.weight").
        public let name: String
        public let shape: [Int]
        /// Read through the host's linear(module, x): a LoRA target and a quantizer's candidate.
        public let linear: Bool
    }

    public let parameters: [Parameter]
    public let vocabSize: Int
    /// "kv_cache": what the host's KV cache holds per layer.
    public let layers: Int, kvHeads: Int, headDim: Int
    /// The longest sequence the model was trained for; 0 = unknown.
    public let contextLength: Int
    public let defaultLoRATargets: [String]
    /// The model's config.json (written beside full fine-tunes); nil when the family gives none.
    public let hfConfig: JSONObject?
    /// The final logit soft cap the host applies to the LM head's output (0: none).
    public let finalLogitSoftcap: Double
    /// How each parameter is laid out in a GGUF file (`gguf_write`: name, gguf name, rule), for GGUF export;
    /// nil when the family does not say.
    public let ggufWrite: [(name: String, gguf: String, rule: String)]?
    /// llama.cpp's name for the architecture (GGUF general.architecture), for writing a model or a LoRA
    /// adapter as GGUF; nil when the family does not say.
    public let ggufArchitecture: String?
    /// The GGUF metadata a GGUF written from this model carries (llama.cpp's `<arch>.*` keys), or why none can
    /// be written; nil when the family does not say.
    public let ggufMetadata: GGUFMetadataDeclaration?

    /// `gguf_metadata`: typed entries, or the reason the model has no GGUF form.
    public enum GGUFMetadataDeclaration: Sendable {
        case entries([(key: String, type: String, value: JSON)])
        case unavailable(String)
    }
    /// The types a gguf_metadata entry may have.
    public static let ggufMetadataTypes = ["uint32", "int32", "float32", "bool", "string"]

    /// Every key a describe() may hold.
    public static let keys = ["parameters", "vocab_size", "kv_cache", "context_length", "default_lora_targets", "hf_config", "final_logit_softcapping", "gguf_write",
                             "gguf_architecture", "gguf_metadata"]
    /// The rules a gguf_write entry may name.
    public static let ggufWriteRules = ["as_is", "permute_rows", "plus_one"]

    public init(_ json: JSON, family: String) throws {
        func fail(_ what: String) -> DescriptionError { DescriptionError(message: "model family '\(family)': describe(): \(what)") }
        guard let o = json.objectValue else { throw fail("must be a JSON object") }
        if let unknown = o.pairs.map(\.0).first(where: { !Self.keys.contains($0) }) {
            throw fail("unknown key '\(unknown)' (the keys are \(Self.keys.joined(separator: ", ")))")
        }
        func positive(_ value: JSON?, _ key: String) throws -> Int {
            guard let v = value?.intValue, v > 0, let n = Int(exactly: v) else { throw fail("'\(key)' must be a positive integer") }
            return n
        }
        guard let list = o["parameters"]?.arrayValue, !list.isEmpty else { throw fail("'parameters' must be a non-empty array") }
        var seen = Set<String>()
        parameters = try list.enumerated().map { i, p in
            guard let name = p["name"]?.stringValue, !name.isEmpty else { throw fail("parameters[\(i)] has no 'name'") }
            guard seen.insert(name).inserted else { throw fail("parameters[\(i)]: '\(name)' is listed twice") }
            guard let dims = p["shape"]?.arrayValue, !dims.isEmpty else { throw fail("parameters[\(i)] '\(name)' has no 'shape'") }
            let shape = try dims.map { try positive($0, "parameters[\(i)].shape") }
            guard let linear = p["linear"]?.boolValue else { throw fail("parameters[\(i)] '\(name)' has no boolean 'linear'") }
            if linear && shape.count != 2 { throw fail("parameters[\(i)] '\(name)' is linear but has shape \(shape) ([out, in] expected)") }
            return Parameter(name: name, shape: shape, linear: linear)
        }
        vocabSize = try positive(o["vocab_size"], "vocab_size")
        guard let cache = o["kv_cache"]?.objectValue else { throw fail("'kv_cache' must be an object {layers, kv_heads, head_dim}") }
        layers = try positive(cache["layers"], "kv_cache.layers")
        kvHeads = try positive(cache["kv_heads"], "kv_cache.kv_heads")
        headDim = try positive(cache["head_dim"], "kv_cache.head_dim")
        switch o["context_length"] {
        case nil: contextLength = 0
        case let v?: guard let n = v.intValue, n >= 0 else { throw fail("'context_length' must be an integer ≥ 0 (0: unknown)") }; contextLength = Int(n)
        }
        switch o["default_lora_targets"] {
        case nil: defaultLoRATargets = []
        case let v?:
            guard let names = v.arrayValue?.compactMap(\.stringValue), names.count == v.arrayValue?.count else {
                throw fail("'default_lora_targets' must be an array of module names")
            }
            defaultLoRATargets = names
        }
        switch o["hf_config"] {
        case nil: hfConfig = nil
        case let v?: guard let object = v.objectValue else { throw fail("'hf_config' must be an object (config.json)") }; hfConfig = object
        }
        switch o["final_logit_softcapping"] {
        case nil: finalLogitSoftcap = 0
        case let v?:
            guard let d = v.doubleValue, d.isFinite, d >= 0 else { throw fail("'final_logit_softcapping' must be a number ≥ 0 (0: none)") }
            finalLogitSoftcap = d
        }
        switch o["gguf_write"] {
        case nil: ggufWrite = nil
        case let v?:
            guard let entries = v.arrayValue else { throw fail("'gguf_write' must be an array of {name, gguf, rule}") }
            let declared = parameters, known = Set(declared.map(\.name))
            ggufWrite = try entries.enumerated().map { i, e in
                guard let name = e["name"]?.stringValue, known.contains(name) else { throw fail("gguf_write[\(i)]: 'name' must be one of the parameters") }
                guard let gguf = e["gguf"]?.stringValue, !gguf.isEmpty else { throw fail("gguf_write[\(i)] '\(name)' has no 'gguf' tensor name") }
                guard let rule = e["rule"]?.stringValue, Self.ggufWriteRules.contains(rule) else {
                    throw fail("gguf_write[\(i)] '\(name)': 'rule' must be one of \(Self.ggufWriteRules.joined(separator: ", "))")
                }
                if rule == "permute_rows" {
                    let heads = try positive(e["heads"], "gguf_write[\(i)].heads"), headDim = try positive(e["head_dim"], "gguf_write[\(i)].head_dim")
                    guard headDim % 2 == 0, let shape = declared.first(where: { $0.name == name })?.shape, shape.count == 2, shape[0] == heads * headDim else {
                        throw fail("gguf_write[\(i)] '\(name)': permute_rows needs an even head_dim and a [heads · head_dim, in] weight")
                    }
                }
                return (name, gguf, rule)
            }
        }
        switch o["gguf_architecture"] {
        case nil: ggufArchitecture = nil
        case let v?: guard let name = v.stringValue, !name.isEmpty else { throw fail("'gguf_architecture' must be a non-empty string (llama.cpp's architecture name)") }; ggufArchitecture = name
        }
        switch o["gguf_metadata"] {
        case nil: ggufMetadata = nil
        case .string(let why)?: ggufMetadata = .unavailable(why)
        case let v?:
            guard let entries = v.arrayValue else { throw fail("'gguf_metadata' must be an array of {key, type, value} or a string (why there is none)") }
            ggufMetadata = .entries(try entries.enumerated().map { i, e in
                guard let key = e["key"]?.stringValue, !key.isEmpty else { throw fail("gguf_metadata[\(i)] has no 'key'") }
                guard let type = e["type"]?.stringValue, Self.ggufMetadataTypes.contains(type) else {
                    throw fail("gguf_metadata[\(i)] '\(key)': 'type' must be one of \(Self.ggufMetadataTypes.joined(separator: ", "))")
                }
                let value = e["value"] ?? .null
                let fits: Bool
                switch type {
                case "uint32": fits = value.intValue.map { $0 >= 0 && $0 <= Int64(UInt32.max) } ?? false
                case "int32": fits = value.intValue.map { $0 >= Int64(Int32.min) && $0 <= Int64(Int32.max) } ?? false
                case "float32": fits = value.doubleValue?.isFinite ?? false
                case "bool": fits = value.boolValue != nil
                default: fits = value.stringValue != nil
                }
                guard fits else { throw fail("gguf_metadata[\(i)] '\(key)': its value is no \(type)") }
                return (key, type, value)
            })
        }
    }
}

/// A describe() that breaks the contract: one line naming the family and the key.
public struct DescriptionError: Error, CustomStringConvertible {
    public let message: String
    public init(message: String) { self.message = message }
    public var description: String { message }
}
