// PEFT's adapter_config.json (LoraConfig, PEFT 0.21) read as this method's keys. Every field PEFT
// writes is listed here with what Factory does with it: applied, descriptive (no effect on the
// numbers), initialisation only (the saved tensors already hold its result), or refused when set.
// A field not listed (a newer PEFT) is refused when it holds anything but its empty default, so an
// adapter is never applied in part.
import FactoryJSON
import FactoryPluginKit

enum PEFTAdapterConfig {
    /// PEFT name → this method's key, for the fields LLaMA-Factory also has.
    static let sharedKeys: [(peft: String, key: String)] = [
        ("r", "lora_rank"), ("lora_alpha", "lora_alpha"), ("lora_dropout", "lora_dropout"),
        ("modules_to_save", "additional_target"), ("use_rslora", "use_rslora"), ("use_dora", "use_dora"),
    ]
    /// Applied under their PEFT names (LLaMA-Factory has no key for them).
    static let peftOnlyKeys = ["target_modules", "exclude_modules", "bias", "rank_pattern", "alpha_pattern",
                               "layers_to_transform", "layers_pattern", "fan_in_fan_out", "ensure_weight_tying"]
    /// Describe the adapter; no effect on what it computes.
    static let descriptive: Set<String> = ["peft_type", "task_type", "auto_mapping", "peft_version", "base_model_name_or_path",
                                           "revision", "inference_mode", "megatron_core", "qalora_group_size", "runtime_config"]
    /// Choose how the tensors were initialised; a saved adapter holds their result.
    static let initialisationOnly: Set<String> = ["init_lora_weights", "loftq_config", "eva_config", "corda_config", "lora_ga_config"]
    /// init_lora_weights values that also rewrite the base weights: the adapter only fits that rewritten base.
    static let baseRewritingInits = ["pissa", "olora", "corda", "loftq", "lora_ga"]

    /// The method's keys from a PEFT LoRA adapter_config.json; throws naming the first field Factory cannot apply.
    static func keys(_ c: JSON) throws -> JSONObject {
        guard let object = c.objectValue else { throw PluginError.invalidArgument("adapter_config.json: not a JSON object") }
        guard c["peft_type"]?.stringValue == "LORA" else {
            throw PluginError.unsupported("adapter_config.json peft_type: '\(c["peft_type"]?.stringValue ?? "none")' is not LORA")
        }
        if let task = c["task_type"]?.stringValue, task != "CAUSAL_LM" {
            throw PluginError.unsupported("adapter_config.json task_type: \(task) adapters are not applied by Factory (CAUSAL_LM only)")
        }
        if let initialiser = c["init_lora_weights"]?.stringValue?.lowercased(),
           let rewriting = baseRewritingInits.first(where: { initialiser.hasPrefix($0) }) {
            throw PluginError.unsupported("adapter_config.json init_lora_weights: '\(initialiser)' — a \(rewriting) adapter only fits the base weights its "
                                          + "initialisation rewrote; convert it with PEFT's save_pretrained(path_initial_model_for_weight_conversion=…) first")
        }
        var o = JSONObject()
        for (peft, key) in sharedKeys { if let v = c[peft], v != .null { o[key] = v } }
        for key in peftOnlyKeys { if let v = c[key], v != .null { o["peft." + key] = v } }
        let known = Set(sharedKeys.map(\.peft) + peftOnlyKeys).union(descriptive).union(initialisationOnly)
        for (key, value) in object.pairs where !known.contains(key) && !isEmptyDefault(value) {
            throw PluginError.unsupported("adapter_config.json \(key): \(value.serialized()) — Factory's lora method cannot apply it; the adapter is refused rather than applied in part")
        }
        return o
    }

    /// null, false, an empty list or object: the value PEFT writes for a feature that is off.
    static func isEmptyDefault(_ v: JSON) -> Bool {
        switch v {
        case .null, .bool(false): return true
        case .array(let a): return a.isEmpty
        case .object(let o): return o.count == 0
        default: return false
        }
    }
}
