// What `factory run` needs for stage dpo beyond the sft path: the preference keys read and checked as
// LLaMA-Factory checks them, the ranking datasets encoded as pairs (shuffled and split by val_size as the
// conversation datasets are), and the reference model that the run can offer.
import FactoryConfig
import FactoryData
import FactoryHost
import FactoryPipeline

extension TrainingJob {
    /// pref_loss, pref_beta, dpo_label_smoothing (sigmoid only: CrossKeyRules), simpo_gamma, pref_ftx;
    /// pref_bco_weight refused in one line.
    static func preferenceSettings(_ config: RunConfig) throws -> PreferenceSettings {
        var s = PreferenceSettings()
        let loss = config.string("pref_loss") ?? "sigmoid"
        guard let kind = PreferenceLossKind(rawValue: loss) else {
            throw TrainingError("pref_loss: '\(loss)' is not a dpo loss Factory implements (\(PreferenceLossKind.allCases.map(\.rawValue).joined(separator: ", ")); kto_pair is LLaMA-Factory's old name for stage kto)")
        }
        s.kind = kind
        s.beta = config.double("pref_beta") ?? 0.1
        s.labelSmoothing = config.double("dpo_label_smoothing") ?? 0
        s.simpoGamma = config.double("simpo_gamma") ?? 0.5
        s.ftx = config.double("pref_ftx") ?? 0
        if let bco = config.double("pref_bco_weight"), bco > 1e-6 {
            throw TrainingError("pref_bco_weight: \(bco) — the BCO term (a running mean of rewards across steps) is not implemented; set it to 0")
        }
        return s
    }

    /// The config's ranking datasets as pairs, shuffled and held out as every stage's examples
    /// (DatasetLoader.holdOut), eval_dataset's pairs first among the evaluation ones.
    static func loadPairs(_ config: RunConfig, model: LoadedModel, plugins: PluginSet) throws -> (train: [PairwiseExample], eval: [PairwiseExample]) {
        guard let templateName = config.string("template") else {
            throw TrainingError("set template: the chat-template plugin that marks what is learned (`factory plugins list` shows them)")
        }
        let template = try ChatTemplateInstance(try plugins.registry(.chatTemplate).lookup(templateName))
        var evalPairs: [PairwiseExample] = []
        if let names = config.list("eval_dataset"), !names.isEmpty {
            evalPairs = try DatasetLoader.loadPairwise(config, names: names, template: template, tokenizer: model.tokenizer).pairs
        }
        let (pairs, heldOut) = DatasetLoader.holdOut(try DatasetLoader.loadPairwise(config, template: template, tokenizer: model.tokenizer).pairs, config)
        evalPairs += heldOut
        guard !pairs.isEmpty else {
            throw TrainingError("no training pair is left of dataset \(config.list("dataset")?.joined(separator: ",") ?? "")"
                                + (evalPairs.isEmpty ? "" : ": val_size took all \(evalPairs.count) for evaluation"))
        }
        return (pairs, evalPairs)
    }

    /// Stage dpo's or rm's pairs and objective; the rows the activation check sizes are both answers of every pair.
    static func loadPairwiseObjective(_ config: RunConfig, stage: Stage, settings: PreferenceSettings?, model: LoadedModel, plugins: PluginSet,
                                      print: (String) -> Void) throws -> ([EncodedExample], [EncodedExample], TrainingObjective) {
        let (pairs, evalPairs) = try loadPairs(config, model: model, plugins: plugins)
        let objective: TrainingObjective
        if let settings {
            objective = .preference(PreferenceData(train: pairs, eval: evalPairs, settings: settings, ldAlpha: config.double("ld_alpha")))
        } else {
            objective = .reward(RewardData(train: pairs, eval: evalPairs, valueHead: try valueHead(config, model: model, print: print)))
        }
        return (pairs.flatMap { [$0.chosen, $0.rejected] }, evalPairs.flatMap { [$0.chosen, $0.rejected] }, objective)
    }

    /// Stage kto's examples (rows with a kto_tag, each with the previous row's answer as its KL example),
    /// shuffled and split by val_size as the pairs are, and its settings: pref_beta, kto_chosen_weight,
    /// kto_rejected_weight, pref_ftx.
    static func loadFeedbackObjective(_ config: RunConfig, model: LoadedModel, plugins: PluginSet) throws
        -> ([EncodedExample], [EncodedExample], TrainingObjective) {
        guard let templateName = config.string("template") else {
            throw TrainingError("set template: the chat-template plugin that marks what is learned (`factory plugins list` shows them)")
        }
        let template = try ChatTemplateInstance(try plugins.registry(.chatTemplate).lookup(templateName))
        var eval: [FeedbackExample] = []
        if let names = config.list("eval_dataset"), !names.isEmpty {
            eval = try DatasetLoader.loadFeedback(config, names: names, template: template, tokenizer: model.tokenizer)
        }
        let (train, heldOut) = DatasetLoader.holdOut(try DatasetLoader.loadFeedback(config, template: template, tokenizer: model.tokenizer), config)
        eval += heldOut
        guard !train.isEmpty else { throw TrainingError("no training example is left of dataset \(config.list("dataset")?.joined(separator: ",") ?? "")") }
        if let bco = config.double("pref_bco_weight"), bco > 1e-6 { throw TrainingError("pref_bco_weight: \(bco) applies to stage dpo (and is not implemented there); stage kto does not read it") }
        var data = KTOData(train: train, eval: eval)
        data.beta = config.double("pref_beta") ?? 0.1
        data.desirableWeight = config.double("kto_chosen_weight") ?? 1
        data.undesirableWeight = config.double("kto_rejected_weight") ?? 1
        data.ftx = config.double("pref_ftx") ?? 0
        return (train.map(\.target), eval.map(\.target), .kto(data))
    }

    /// Stage rm's value head: value_head.safetensors of the last adapter_name_or_path, else of the model's
    /// directory (a reward model trained in full), else a new one from `seed` — as LLaMA-Factory finds it.
    static func valueHead(_ config: RunConfig, model: LoadedModel, print: (String) -> Void) throws -> ValueHead {
        guard let hidden = model.description["hf_config"]?["hidden_size"]?.intValue.map(Int.init) else {
            throw TrainingError("stage rm: the model family reports no hidden_size for the value head")
        }
        let from = config.list("adapter_name_or_path")?.last ?? (model.location.format == .huggingface ? model.location.path : nil)
        if let from, let head = try ValueHead.load(from: from, hidden: hidden) {
            print("value head: \(from)/\(ValueHead.fileName)")
            return head
        }
        return ValueHead(hidden: hidden, seed: UInt64(truncatingIfNeeded: config.int("seed") ?? 42))
    }

    /// The reference model a loss that needs one compares with, picked as LLaMA-Factory's create_ref_model
    /// picks it (see ReferenceModel); `.adapterOff`, never read, when `needed` is false (a ref_model set then
    /// goes unloaded, and one line says so). `loss` names what needs it, for the messages.
    static func referenceModel(_ config: RunConfig, needed: Bool, loss: String, adapted: AdaptedModel, request: String,
                               located: LocatedModel?, plugins: PluginSet, print: (String) -> Void) throws -> ReferenceModel {
        guard needed else {
            if let path = config.string("ref_model") { print("ref_model: \(loss) compares with no reference model; \(path) is not loaded") }
            return .adapterOff
        }
        let reference: ReferenceModel
        if let path = config.string("ref_model") {
            reference = try separateReference(config, path: path, policy: adapted.model, plugins: plugins)
        } else if adapted.declaration.adapterFormat == "peft" && !adapted.trainsBaseTensors {
            reference = .adapterOff
        } else {  // full, freeze, or an adapter that trains base tensors too: the model as it was loaded, frozen
            var copyConfig = config
            copyConfig.set("adapter_name_or_path", nil)
            let (model, _, _) = try loadModel(copyConfig, request: request, located: located, plugins: plugins)
            let adapters = config.list("adapter_name_or_path") ?? []
            if adapted.declaration.adapterFormat == "peft" {  // PEFT's disable_adapter(): the adapters merged before the trained one stay
                try AdapterLoading.apply(Array(adapters.dropLast()), to: model, plugins: plugins, merge: true)
            } else {
                try AdapterLoading.apply(adapters, to: model, plugins: plugins, merge: true)
            }
            let why = adapted.declaration.adapterFormat == "peft" ? "its adapter trains base tensors too" : "finetuning_type \(adapted.method.component.name)"
            reference = .frozen(model, origin: "a frozen copy of \(request) as loaded (\(why))")
        }
        print(reference.summary)
        return reference
    }

    /// ref_model, with ref_model_adapters (comma-separated, as LLaMA-Factory splits them) merged in order and
    /// packed by ref_model_quantization_bit's quantizer when set (never by the policy's quantization keys).
    static func separateReference(_ config: RunConfig, path: String, policy: LoadedModel, plugins: PluginSet) throws -> ReferenceModel {
        var refConfig = config
        for key in ["quantization_bit", "quantizer", "adapter_name_or_path"] { refConfig.set(key, nil) }
        if let bits = config.int("ref_model_quantization_bit") { refConfig.set("quantization_bit", .int(bits)) }
        let model: LoadedModel
        do {
            model = try loadModel(refConfig, request: path, located: nil, plugins: plugins).0
        } catch {
            throw TrainingError("ref_model: \(error)")
        }
        let vocabulary = { (m: LoadedModel) in m.description["hf_config"]?["vocab_size"]?.intValue }
        if let own = vocabulary(model), let policyVocabulary = vocabulary(policy), own != policyVocabulary {
            throw TrainingError("ref_model: \(path) has a vocabulary of \(own) tokens, the trained model \(policyVocabulary); the reference must read the same token ids")
        }
        let adapters = (config.string("ref_model_adapters") ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        try AdapterLoading.apply(adapters, to: model, plugins: plugins, merge: true, key: "ref_model_adapters")
        return .frozen(model, origin: "ref_model \(path)" + (adapters.isEmpty ? "" : " with \(adapters.joined(separator: ", ")) merged"))
    }
}
