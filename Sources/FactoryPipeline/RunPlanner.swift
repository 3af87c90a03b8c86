import FactoryConfig
import FactoryData
import FactoryEngine
import FactoryHost
import FactoryJSON
#if canImport(Glibc)
import Glibc
#endif

/// Resolves a run's config into plugins: a chain of registry lookups
/// (model architecture -> family, template, method, quantizer, attention
/// kernel), never a chain of name comparisons.
public enum RunPlanner {

    /// LLaMA-Factory's `quantization_method` + `quantization_bit` -> quantizer name.
    /// 4-bit bitsandbytes follows `quantization_type` (nf4 by default, or fp4).
    static let quantizerTable: [String: [Int: String]] = [
        "bnb": [4: "nf4", 8: "int8"],
        "bitsandbytes": [4: "nf4", 8: "int8"],
    ]

    /// LLaMA-Factory's defaults of the run keys a quantizer may take (see quantizerConfig).
    static let quantizerKeyDefaults: [String: JSON] = ["double_quantization": .bool(true)]

    /// The config a quantizer is created with: every run key its descriptor lists as a feature
    /// "config:<key>" (nf4/fp4: `double_quantization`), set or at LLaMA-Factory's default. A
    /// quantizer declaring none gets {} — the keys are a capability it declares, not a name the host knows.
    public static func quantizerConfig(_ config: RunConfig, _ component: Component) -> JSON {
        var o = JSONObject()
        for feature in component.features where feature.hasPrefix("config:") {
            let key = String(feature.dropFirst("config:".count))
            if let value = config.section("model", extra: [key])[key] ?? quantizerKeyDefaults[key] { o[key] = value }
        }
        return .object(o)
    }

    /// `flash_attn` values -> what the chosen kernel must offer; `disabled` names the reference kernel.
    static let attentionRequests: [String: (named: String?, memoryEfficient: Bool)] = [
        "auto": (nil, false), "disabled": ("eager", false), "sdpa": (nil, true), "fa2": (nil, true), "fa3": (nil, true),
    ]

    public static func plan(_ config: RunConfig, plugins: PluginSet) -> RunPlan {
        let stage = config.stage  // one of LLaMA-Factory's stages: the config schema checked it
        var items: [PlanItem] = []
        if !stage.isImplemented {
            items.append(PlanItem(kind: .stage, request: stage.rawValue, component: nil, detail: "",
                                  problem: "stage '\(stage.rawValue)' is not implemented yet (Factory trains: \(Stage.implemented.map(\.rawValue).joined(separator: ", ")))"))
        }
        let (modelPlan, located) = modelItems(config, plugins)
        items += modelPlan
        let templateItem = lookup(.chatTemplate, config.string("template"), plugins,
                                  unsetDetail: stage == .pt ? "none needed: stage pt trains on raw text"
                                      : "the model's own chat template (GGUF tokenizer.chat_template / tokenizer_config.json)")
        items.append(templateItem)
        if let located, let check = templateCheckItem(config, template: templateItem, model: located) { items.append(check) }
        let methodItem = lookup(.finetuningMethod, config.string("finetuning_type") ?? "lora", plugins, unsetDetail: "")
        let quantizer = quantizerItem(config, plugins)
        items += [methodItem, quantizer]
        if let check = capabilityItem(config, method: methodItem, quantizer: quantizer) { items.append(check) }
        items.append(attentionItem(config, plugins))
        items += datasetItems(config)
        let threadSource = config.int("threads") != nil ? "threads:" : (getenv("FACTORY_THREADS") != nil ? "FACTORY_THREADS" : "cores")
        items.append(PlanItem(kind: .threads, request: String(config.int("threads") ?? Threads.count), component: nil,
                              detail: "OpenBLAS and engine loops (from \(threadSource))", problem: nil))
        var plan = RunPlan(configFile: config.file, stage: stage, items: items)
        plan.model = located
        return plan
    }

    static func lookup(_ kind: PluginKind, _ name: String?, _ plugins: PluginSet, unsetDetail: String, role: PlanRole? = nil) -> PlanItem {
        let role = role ?? PlanRole(kind)
        guard let name else { return PlanItem(kind: role, request: "(unset)", component: nil, detail: unsetDetail, problem: nil) }
        do {
            return PlanItem(kind: role, request: name, component: try plugins.registry(kind).lookup(name), detail: "", problem: nil)
        } catch {
            return PlanItem(kind: role, request: name, component: nil, detail: "", problem: "\(error)")
        }
    }

    /// The model and family items, and the located model (found once for the whole plan).
    static func modelItems(_ config: RunConfig, _ plugins: PluginSet) -> ([PlanItem], LocatedModel?) {
        guard let request = config.string("model_name_or_path") else {
            return ([PlanItem(kind: .model, request: "(unset)", component: nil, detail: "", problem: "model_name_or_path is not set")], nil)
        }
        let model: LocatedModel
        do {
            model = try ModelLocator.locate(request)
        } catch {
            return ([PlanItem(kind: .model, request: request, component: nil, detail: "", problem: "\(error)")], nil)
        }
        let detail = "\(model.format.rawValue) \(model.path)" + (model.via.map { " (via \($0))" } ?? "")
        let modelItem = PlanItem(kind: .model, request: request, component: nil, detail: detail, problem: nil)
        do {
            let family = try plugins.registry(.modelFamily).family(forModelType: model.architecture)
            return ([modelItem, PlanItem(kind: .modelFamily, request: model.architecture, component: family, detail: "", problem: nil)], model)
        } catch {
            return ([modelItem, PlanItem(kind: .modelFamily, request: model.architecture, component: nil, detail: "", problem: "\(error)")], model)
        }
    }

    /// A chosen template plugin against the model's own chat template: a mismatch stops a run
    /// unless allow_template_mismatch is true (the most common cause of garbage after fine-tuning).
    static func templateCheckItem(_ config: RunConfig, template: PlanItem, model: LocatedModel) -> PlanItem? {
        guard let component = template.component,
              let (tokenizer, source) = try? LoadedModel.tokenizerAndTemplate(at: model), let source else { return nil }
        let allowed = config.bool("allow_template_mismatch") ?? false
        do {
            let results = try TemplateCheck.run(plugin: try ChatTemplateInstance(component), modelTemplate: source, tokenizer: tokenizer)
            let different = results.filter { !$0.matches }
            if different.isEmpty {
                return PlanItem(kind: .templateCheck, request: component.name, component: nil,
                                detail: "matches the model's own chat template on \(results.count) conversations", problem: nil)
            }
            let summary = "the \(component.name) template differs from the model's own chat template in \(different.count) of \(results.count) conversations (first: \(different[0].name), token \(different[0].firstDifference ?? 0)); `factory template check --template \(component.name)` shows where"
            if allowed { return PlanItem(kind: .templateCheck, request: component.name, component: nil, detail: "allowed: " + summary, problem: nil) }
            return PlanItem(kind: .templateCheck, request: component.name, component: nil, detail: "",
                            problem: summary + "; fix template or set allow_template_mismatch: true")
        } catch {
            return PlanItem(kind: .templateCheck, request: component.name, component: nil, detail: "", problem: "template check failed: \(error)")
        }
    }

    /// The run's fine-tuning keys as a method plugin receives them: every set key of the "finetuning" group
    /// plus `seed`, and their names as `shared_keys` (keys of sibling methods are not errors).
    public static func methodConfig(_ config: RunConfig) -> JSONObject {
        var o = config.section("finetuning", extra: ["seed"])
        o["shared_keys"] = .array(o.keys.map { .string($0) })
        return o
    }

    /// The method against the quantizer, from their declarations, before any weight is loaded: a method that
    /// trains the base weights needs a quantizer declaring trainable_base, and every method must accept a
    /// quantized base. Also creates the method once with the run's keys, so a bad method key stops the plan.
    static func capabilityItem(_ config: RunConfig, method: PlanItem, quantizer: PlanItem) -> PlanItem? {
        guard let m = method.component else { return nil }
        do {
            let declared = try FinetuningMethodInstance(m, config: .object(methodConfig(config))).declaration()
            guard let q = quantizer.component else { return nil }
            let trainable = try QuantizerInstance(q, config: quantizerConfig(config, q)).declaration().trainableBase
            if let problem = capabilityProblem(method: m, declared, quantizer: q, trainableBase: trainable) {
                return PlanItem(kind: .capability, request: "\(m.name) on \(q.name)", component: nil, detail: "", problem: problem)
            }
            return PlanItem(kind: .capability, request: "\(m.name) on \(q.name)", component: nil, detail: "the method trains over the packed base", problem: nil)
        } catch {
            return PlanItem(kind: .capability, request: m.name, component: nil, detail: "", problem: "\(error)")
        }
    }

    /// Why `method` cannot train on a base packed by `quantizer`, or nil when it can.
    public static func capabilityProblem(method: Component, _ declared: FinetuningMethodDeclaration, quantizer: Component, trainableBase: Bool) -> String? {
        if declared.trainsBase && !trainableBase {
            return "finetuning_type \(method.name) trains the base weights, but quantizer '\(quantizer.name)' (\(quantizer.file)) declares trainable_base: false (a quantized base trains adapters only: use lora)"
        }
        if !declared.quantizedBaseOK { return "finetuning_type \(method.name) (\(method.file)) declares that it cannot train on a quantized base; unset quantization_bit/quantizer" }
        return nil
    }

    public static func quantizerItem(_ config: RunConfig, _ plugins: PluginSet) -> PlanItem {
        if let name = config.string("quantizer") { return lookup(.quantizer, name, plugins, unsetDetail: "") }
        guard let bits = config.int("quantization_bit") else {
            return PlanItem(kind: .quantizer, request: "(none)", component: nil, detail: "full-precision base weights", problem: nil)
        }
        let method = config.string("quantization_method") ?? "bnb"
        guard let byBits = quantizerTable[method] else {
            return PlanItem(kind: .quantizer, request: "\(method) \(bits)-bit", component: nil, detail: "",
                            problem: "quantization_method '\(method)' has no Factory quantizer (\(quantizerTable.keys.sorted().joined(separator: ", ")), or name one with quantizer:)")
        }
        guard var name = byBits[bits] else {
            return PlanItem(kind: .quantizer, request: "\(method) \(bits)-bit", component: nil, detail: "",
                            problem: "quantization_bit \(bits) is not available for \(method) (\(byBits.keys.sorted().map(String.init).joined(separator: ", ")))")
        }
        if bits == 4, let type = config.string("quantization_type") { name = type }
        return lookup(.quantizer, name, plugins, unsetDetail: "")
    }

    public static func attentionItem(_ config: RunConfig, _ plugins: PluginSet) -> PlanItem {
        if let name = config.string("attention_kernel") { return lookup(.attentionKernel, name, plugins, unsetDetail: "", role: .attention) }
        let flash = config.string("flash_attn") ?? "auto"
        guard let request = attentionRequests[flash] else {
            return PlanItem(kind: .attention, request: "flash_attn: \(flash)", component: nil, detail: "",
                            problem: "flash_attn '\(flash)' is not one of \(attentionRequests.keys.sorted().joined(separator: ", "))")
        }
        if let named = request.named {
            let item = lookup(.attentionKernel, named, plugins, unsetDetail: "", role: .attention)
            return PlanItem(kind: .attention, request: "flash_attn: \(flash)", component: item.component,
                            detail: item.problem == nil ? "the \(named) kernel" : "", problem: item.problem)
        }
        var best: (Component, AttentionDeclaration)?
        for component in plugins.registry(.attentionKernel).components {
            guard let d = try? AttentionKernelInstance(component).declaration(), d.score > 0, !request.memoryEfficient || d.memoryEfficient else { continue }
            if best == nil || d.score > best!.1.score { best = (component, d) }
        }
        guard let (chosen, d) = best else {
            if !request.memoryEfficient {
                return PlanItem(kind: .attention, request: "flash_attn: \(flash)", component: nil,
                                detail: "the host's built-in reference attention (no kernel plugin registered)", problem: nil)
            }
            let registered = plugins.registry(.attentionKernel).names
            return PlanItem(kind: .attention, request: "flash_attn: \(flash)", component: nil, detail: "",
                            problem: "no attention-kernel plugin can serve flash_attn '\(flash)' (registered: \(registered.isEmpty ? "none" : registered.joined(separator: ", ")))")
        }
        return PlanItem(kind: .attention, request: "flash_attn: \(flash)", component: chosen, detail: "highest score \(d.score)", problem: nil)
    }

    /// Each dataset found in dataset_info.json (or why not); no dataset at all is a problem of the training stages,
    /// and a ranking dataset one of the stages that train on conversations or text.
    static func datasetItems(_ config: RunConfig) -> [PlanItem] {
        let names = (config.list("dataset") ?? []) + (config.list("eval_dataset") ?? [])
        guard !names.isEmpty else {
            return [PlanItem(kind: .dataset, request: "(unset)", component: nil, detail: "", problem: "no dataset: set dataset (names from dataset_info.json)")]
        }
        let dir = config.string("dataset_dir") ?? "data"
        let info: DatasetInfo
        do { info = try DatasetInfo(directory: dir) } catch {
            return [PlanItem(kind: .dataset, request: names.joined(separator: ","), component: nil, detail: "", problem: "\(error)")]
        }
        return names.map { name in
            do {
                let a = try info.attributes(name)
                if a.ranking && [.sft, .pt].contains(config.stage) {
                    return PlanItem(kind: .dataset, request: name, component: nil, detail: "",
                                    problem: "dataset '\(name)' is a ranking dataset (chosen/rejected pairs): stage \(config.stage.rawValue) trains on "
                                        + "conversations; train on its pairs with stage dpo or rm (`factory data check` shows them)")
                }
                if a.columns["kto_tag"] != nil && [.sft, .pt].contains(config.stage) {
                    return PlanItem(kind: .dataset, request: name, component: nil, detail: "",
                                    problem: "dataset '\(name)' has a kto_tag column (answers labelled desirable or not): stage \(config.stage.rawValue) "
                                        + "would learn the undesirable answers too (LLaMA-Factory drops such rows); train on it with stage kto")
                }
                if config.stage == .kto && (a.ranking || a.columns["kto_tag"] == nil) {
                    return PlanItem(kind: .dataset, request: name, component: nil, detail: "",
                                    problem: "dataset '\(name)' has no kto_tag column: stage kto trains on single answers labelled desirable or not "
                                        + "(\"columns\": {\"kto_tag\": ...} in dataset_info.json)")
                }
                if !a.ranking && [.dpo, .rm].contains(config.stage) {
                    return PlanItem(kind: .dataset, request: name, component: nil, detail: "",
                                    problem: "dataset '\(name)' is not a ranking dataset: stage \(config.stage.rawValue) trains on chosen/rejected pairs "
                                        + "(\"ranking\": true in dataset_info.json, with chosen and rejected columns)")
                }
                return PlanItem(kind: .dataset, request: name, component: nil, detail: "\((a.ranking ? "ranking " : "") + a.formatting.rawValue) \(dir)/\(a.fileName)", problem: nil)
            } catch {
                return PlanItem(kind: .dataset, request: name, component: nil, detail: "", problem: "\(error)")
            }
        }
    }
}
