// The base parameters a LoRA adapter trains whole: PEFT's modules_to_save (matched by PEFTModuleRules)
// and the biases `bias` selects, with the names PEFT saves them under.
import CFactoryABI
import FactoryJSON
import FactoryPluginKit

extension LoRAMethod {
    /// The base parameters the adapter trains and saves whole, under PEFT's names: those of every
    /// modules_to_save module ("base_model.model.<name>", given their own storage unless
    /// ensure_weight_tying, when PEFT also saves the tied twin under its own name), and the biases
    /// `bias` selects (an adapted linear's as "<module>.base_layer.bias").
    func trainableEntries(_ names: [String], adapted: Set<String>, tied: Bool) throws -> [JSON] {
        func module(_ name: String) -> String {
            for suffix in [".weight", ".bias"] where name.hasSuffix(suffix) { return String(name.dropLast(suffix.count)) }
            return name
        }
        var entries: [JSON] = []
        for name in names {
            let m = module(name)
            if rules.isSaved(m) {
                var entry = JSONObject([("name", .string(name)), ("saved_as", .string("base_model.model." + name)), ("untie", .bool(!ensureWeightTying))])
                // PEFT's embedding layers: a saved one and its tied twin stay one tensor, saved under both names
                let twinOf = ["embed_tokens": "lm_head", "lm_head": "embed_tokens"]
                if ensureWeightTying, tied, let other = twinOf[String(m.split(separator: ".").last ?? "")],
                   let twin = names.first(where: { module($0).hasSuffix(other) && $0.hasSuffix(".weight") }) {
                    entry["also_saved_as"] = [.string("base_model.model." + twin)]
                }
                entries.append(.object(entry))
            } else if name.hasSuffix(".bias") && (bias == "all" || (bias == "lora_only" && adapted.contains(m))) {
                let saved = adapted.contains(m) ? m + ".base_layer.bias" : name
                entries.append(.object(JSONObject([("name", .string(name)), ("saved_as", .string("base_model.model." + saved))])))
            }
        }
        for entry in additional {
            let modules = Set(names.map(module).compactMap { m in rules.saver(of: m, among: [entry]) }).sorted()
            guard !modules.isEmpty else {
                throw PluginError.invalidArgument("lora: additional_target (modules_to_save) '\(entry)' matches no module of this model")
            }
            // PEFT matches by suffix without a dot: say so when that reaches further than the name suggests
            if modules.contains(where: { !($0 == entry || $0.hasSuffix("." + entry)) }) {
                Host.log(FACTORY_LOG_WARNING, "additional_target (modules_to_save) '\(entry)' matches by name suffix, as PEFT does: \(modules.count) modules "
                         + "(\(modules.prefix(4).joined(separator: ", "))\(modules.count > 4 ? ", …" : ""))", source: LoRAMethod.descriptor.id)
            }
        }
        return entries
    }
}
