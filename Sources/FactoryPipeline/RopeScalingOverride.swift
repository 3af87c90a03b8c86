import FactoryConfig
import FactoryJSON

/// LLaMA-Factory's `rope_scaling` key (linear, dynamic, yarn, llama3): the model's config is rewritten
/// as LLaMA-Factory's configure_rope rewrites it, before the family reads it. The old length is the
/// config's rope_scaling original_max_position_embeddings, else its max_position_embeddings; training
/// scales by ⌈cutoff_len / old⌉ (nothing when cutoff_len fits), inference by 2; max_position_embeddings
/// becomes old · factor. A GGUF file takes linear and yarn (llama.cpp's own rope.scaling keys); dynamic
/// and llama3 are refused there, since llama.cpp has no key for them.
public struct RopeScalingOverride: Sendable {
    public let type: String
    /// The training length (cutoff_len); nil for inference.
    public let trainingLength: Int?

    public init(type: String, trainingLength: Int?) { (self.type, self.trainingLength) = (type, trainingLength) }

    /// The factor for a model trained for `oldLength` tokens (nil: nothing to do) and the line saying so.
    func factor(oldLength: Int) -> (Double?, String) {
        guard let length = trainingLength else { return (2, "rope_scaling: \(type), factor 2 (inference), max length \(oldLength) → \(oldLength * 2)") }
        guard length > oldLength else {
            return (nil, "rope_scaling: cutoff_len \(length) fits the model's \(oldLength) positions; RoPE scaling is not applied (as in LLaMA-Factory)")
        }
        let f = (Double(length) / Double(oldLength)).rounded(.up)
        return (f, "rope_scaling: \(type), factor \(Int(f)), max length \(oldLength) → \(oldLength * Int(f))")
    }

    /// config.json rewritten, and the line to print.
    public func apply(hf config: JSONObject, file: String) throws -> (JSONObject, String) {
        let existing = config["rope_scaling"]?.objectValue ?? config["rope_parameters"]?.objectValue
        guard let old = existing?["original_max_position_embeddings"]?.intValue ?? config["max_position_embeddings"]?.intValue, old > 0 else {
            throw ConfigProblem("rope_scaling: \(file) has no max_position_embeddings to scale from")
        }
        let (factor, line) = self.factor(oldLength: Int(old))
        guard let factor else { return (config, line) }
        var scaling = JSONObject([("rope_type", .string(type)), ("factor", .double(factor))])
        if let theta = config["rope_theta"] ?? existing?["rope_theta"] { scaling["rope_theta"] = theta }
        if ["dynamic", "yarn", "llama3"].contains(type) { scaling["original_max_position_embeddings"] = .int(old) }
        if type == "llama3" { (scaling["low_freq_factor"], scaling["high_freq_factor"]) = (1.0, 4.0) }
        var out = config
        out["rope_scaling"] = .object(scaling)
        out["rope_parameters"] = nil
        out["max_position_embeddings"] = .int(old * Int64(factor))
        return (out, line)
    }

    /// GGUF metadata rewritten (llama.cpp's keys), and the line to print.
    public func apply(gguf metadata: JSONObject, file: String) throws -> (JSONObject, String) {
        guard let arch = metadata["general.architecture"]?.stringValue else { throw ConfigProblem("rope_scaling: \(file) names no general.architecture") }
        guard type == "linear" || type == "yarn" else {
            throw ConfigProblem("rope_scaling: \(type) cannot be applied to a GGUF file (llama.cpp stores only linear and yarn); use linear or yarn, or the Hugging Face directory")
        }
        let original = metadata["\(arch).rope.scaling.original_context_length"]?.intValue
        guard let old = original ?? metadata["\(arch).context_length"]?.intValue, old > 0 else {
            throw ConfigProblem("rope_scaling: \(file) has no \(arch).context_length to scale from")
        }
        let (factor, line) = self.factor(oldLength: Int(old))
        guard let factor else { return (metadata, line) }
        var out = metadata
        out["\(arch).rope.scaling.type"] = .string(type)
        out["\(arch).rope.scaling.factor"] = .double(factor)
        if type == "yarn" { out["\(arch).rope.scaling.original_context_length"] = .int(old) }
        out["\(arch).context_length"] = .int(old * Int64(factor))
        return (out, line)
    }
}

extension RunConfig {
    /// The config's `rope_scaling`, for a training run (scaled to cutoff_len, default 2048) or for inference.
    public func ropeScaling(training: Bool) -> RopeScalingOverride? {
        string("rope_scaling").map { RopeScalingOverride(type: $0, trainingLength: training ? (int("cutoff_len") ?? 2048) : nil) }
    }
}
