// `factory run` for the training stages: the model, the template and data, the method, the
// trainer — each from the plan's plugins — then the result saved into output_dir.
import FactoryConfig
import FactoryData
import FactoryEngine
import FactoryHost
import FactoryJSON
import FactoryPipeline
import Foundation

public enum TrainingJob {
    /// Stages this build trains.
    public static let stages = Set(Stage.implemented)

    /// `located`: the model's files when the caller found them already (the run's plan did). The run
    /// happens in an ExecutionContext of its own (derived from the current one, so it keeps the chosen
    /// attention kernel): its parameters, hooks and checkpointing mode go when it ends.
    public static func run(_ config: RunConfig, plugins: PluginSet, located: LocatedModel? = nil,
                           print printLine: @escaping (String) -> Void = { Swift.print($0) }) throws {
        let stage = config.stage
        guard stages.contains(stage) else {
            throw TrainingError("stage '\(stage.rawValue)' is not implemented in this build (it trains: \(stages.map(\.rawValue).sorted().joined(separator: ", ")))")
        }
        guard let request = config.string("model_name_or_path") else { throw TrainingError("no model: set model_name_or_path") }
        var args = try TrainingArguments(config)
        if config.string("output_dir") == nil { args.outputDir = "saves/" + (config.string("finetuning_type") ?? "lora") + "/" + stage.rawValue }
        let parallel = try DataParallel.join(config, plugins: plugins)
        if let mb = config.double("ddp_bucket_cap_mb") {
            parallel.bucketCapBytes = max(4, Int(mb * 1_048_576))  // MiB, as torch reads it
            if parallel.worldSize == 1 { printLine("ddp_bucket_cap_mb: no effect in one process (it sizes the gradient buckets of mpirun -np N)") }
        }
        let print = parallel.isMain ? printLine : { _ in }  // rank 0 speaks for a data-parallel run
        if parallel.worldSize > 1 {
            guard stage == .sft || stage == .pt else {
                throw TrainingError("data-parallel training (\(parallel.worldSize) ranks) trains stages pt and sft for now; run stage \(stage.rawValue) in one process")
            }
            print("data parallel: \(parallel.worldSize) ranks (\(parallel.communicator.transport)), \(Threads.count) thread(s) each; each step is that of one process with per_device_train_batch_size \(args.batchSize * parallel.worldSize)")
        }
        // one run per output_dir, until this function returns: rank 0 claims it, the others learn whether it could
        let output = try parallel.onMain("claiming output_dir \(args.outputDir)") { try claimOutputDirectory(args, print: print) } ?? nil
        defer { withExtendedLifetime(output) {} }
        let context = ExecutionContext.current.derived()
        try context.run {
            let started = Date()
            let (model, quantizer, quantizerRequest) = try loadModel(config, request: request, located: located, plugins: plugins)
            let pairwise = stage == .dpo || stage == .rm
            let settings = stage == .dpo ? try preferenceSettings(config) : nil
            let (train, eval): ([EncodedExample], [EncodedExample])
            var objective: TrainingObjective
            switch stage {
            case .dpo, .rm: (train, eval, objective) = try loadPairwiseObjective(config, stage: stage, settings: settings, model: model, plugins: plugins, print: print)
            case .kto: (train, eval, objective) = try loadFeedbackObjective(config, model: model, plugins: plugins)
            default:
                let (t, e) = try loadData(config, stage: stage, model: model, plugins: plugins)
                (train, eval, objective) = (t, e, .languageModel)
            }
            let adapted = try applyMethod(config, to: model, quantizer: quantizer.map { ($0, quantizerRequest) }, seed: args.seed,
                                          plugins: plugins, print: print)
            if stage == .dpo || stage == .kto {
                let reference = try referenceModel(config, needed: settings?.kind.usesReference ?? true, loss: settings.map { "pref_loss \($0.kind.rawValue)" } ?? "stage kto",
                                                   adapted: adapted, request: request, located: located, plugins: plugins, print: print)
                objective = objective.with(reference: reference)
            }
            let rowsPerExample = pairwise ? 2 : 1  // a pair is two rows, its chosen and its rejected answer
            try checkActivationsFit(args, train: train, model: model, checkpointing: !(config.bool("disable_gradient_checkpointing") ?? false),
                                    rowsPerExample: rowsPerExample)
            let ownData = pairwise || stage == .kto  // the objective holds the stage's examples
            let trainer = try Trainer(adapted: adapted, args: args, train: ownData ? [] : train, eval: ownData ? [] : eval,
                                      padID: model.tokenizer.eosID ?? model.stopIDs.min() ?? 0, baseModel: request, objective: objective,
                                      parallel: parallel)
            trainer.print = print
            if let shards = trainer.shards {
                let (mine, all) = shards.ownedElements(trainer.optimizer.parameters)
                print(String(format: "zero_stage 1: AdamW's moments sharded over %d ranks; rank 0 keeps them for %d of %d trained elements (%.1f%%)",
                             parallel.worldSize, mine, all, 100 * Double(mine) / Double(max(all, 1))))
            } else if args.zeroStage == 1 {
                print("zero_stage: 1 has no effect in one process (it shards the optimizer state across the ranks of mpirun -np N)")
            }
            trainer.modelCard.datasets = config.list("dataset") ?? []
            trainer.modelCard.stage = stage.rawValue
            trainer.modelCard.finetuningType = config.string("finetuning_type") ?? "lora"
            print(String(format: "%@ on %@: %d %@ (%d eval), %d steps; trainable %d of %d parameters (%.4f%%); ready in %.1f s",
                         adapted.method.component.name, stage.rawValue, train.count / rowsPerExample, pairwise ? "pairs" : "examples",
                         eval.count / rowsPerExample,
                         trainer.totalSteps, adapted.trainableCount,
                         model.parameterCount, 100 * Double(adapted.trainableCount) / Double(max(model.parameterCount, 1)),
                         Date().timeIntervalSince(started)))
            print("gradient checkpointing: " + configureCheckpointing(context, config, quantizedBase: quantizer != nil))
            if let line = try MixedPrecision.configure(context, config, adapted: adapted, warn: { fputs($0 + "\n", stderr) }) { print(line) }
            let result = try trainer.run()
            print(String(format: "trained %d steps in %.1f s (%.0f tokens/s), mean loss %.4f; saved to %@", result.steps, result.seconds,
                         result.seconds > 0 ? Double(result.tokens) / result.seconds : 0, result.meanLoss, args.outputDir))
            if parallel.worldSize > 1 { print(try parallel.summary()) }  // every rank takes part
        }
    }

    /// Locks output_dir, removes a killed run's leftovers, applies LLaMA-Factory's rule for an occupied
    /// directory, and refuses a resume with nothing left to train — all before the model loads.
    static func claimOutputDirectory(_ args: TrainingArguments, print: (String) -> Void) throws -> OutputDirectory {
        let output = try OutputDirectory(locking: args.outputDir)
        let removed = output.removeLeftovers()
        if !removed.isEmpty { print("removed what an interrupted run left in \(args.outputDir): \(removed.joined(separator: ", "))") }
        try guardOutputDirectory(args, contents: output.contents)
        try Checkpoints.checkSomethingIsLeft(args)
        return output
    }

    /// The model, packed as it loads when a quantizer is chosen (QLoRA: the quantizer before loading), and
    /// what the config asked for ("nf4", "bnb 4-bit").
    static func loadModel(_ config: RunConfig, request: String, located: LocatedModel?, plugins: PluginSet)
        throws -> (LoadedModel, QuantizerInstance?, String) {
        let quantizerItem = RunPlanner.quantizerItem(config, plugins)
        if let problem = quantizerItem.problem { throw TrainingError(problem) }
        let quantizer = try quantizerItem.component.map { try QuantizerInstance($0, config: RunPlanner.quantizerConfig(config, $0)) }
        let rope = config.ropeScaling(training: true)
        let vocabulary = config.vocabularyChange()
        let model = try located.map { try LoadedModel.load($0, plugins: plugins, quantizer: quantizer, ropeScaling: rope, vocabulary: vocabulary) }
            ?? LoadedModel.load(request, plugins: plugins, quantizer: quantizer, ropeScaling: rope, vocabulary: vocabulary)
        return (model, quantizer, quantizerItem.request)
    }

    /// The stage's examples (packed rows with packing; neat_packing keeps attention inside each sample and
    /// restarts positions) and the evaluation examples.
    static func loadData(_ config: RunConfig, stage: Stage, model: LoadedModel, plugins: PluginSet) throws -> ([EncodedExample], [EncodedExample]) {
        let data: PreparedDataset
        if stage == .pt {  // raw text: no template (optional, as in LLaMA-Factory)
            data = try DatasetLoader.loadPretraining(config, tokenizer: model.tokenizer, eosID: model.tokenizer.eosID ?? model.stopIDs.min())
        } else {
            guard let templateName = config.string("template") else {
                throw TrainingError("set template: the chat-template plugin that marks what is learned (`factory plugins list` shows them)")
            }
            let template = try ChatTemplateInstance(try plugins.registry(.chatTemplate).lookup(templateName))
            data = try DatasetLoader.load(config, template: template, tokenizer: model.tokenizer,
                                          tokenizerIdentity: VocabularyChange.identity(model.location.path, added: model.addedVocabulary))
        }
        guard !data.train.isEmpty else {
            throw TrainingError("no training example is left of dataset \(config.list("dataset")?.joined(separator: ",") ?? "")"
                                + (data.eval.isEmpty ? "" : ": val_size took all \(data.eval.count) for evaluation")
                                + (data.skipped > 0 ? " (\(data.skipped) skipped by skip_bad_rows)" : ""))
        }
        let neat = config.bool("neat_packing") ?? false
        let train = data.packed.isEmpty ? data.train : data.packed.map {
            EncodedExample(inputIDs: $0.inputIDs, labels: $0.labels, segments: neat ? $0.attentionMask : nil, positionIDs: neat ? $0.positionIDs : nil)
        }
        return (train, data.eval)
    }

    /// The fine-tuning method on the model: its keys from the run (or, continuing an adapter, from that
    /// adapter), checked against a quantized base, its tensors created (or read from the last adapter;
    /// the ones before it merged into the base first, as LLaMA-Factory does).
    static func applyMethod(_ config: RunConfig, to model: LoadedModel, quantizer packed: (QuantizerInstance, request: String)?, seed: Int,
                            plugins: PluginSet, print: (String) -> Void) throws -> AdaptedModel {
        var methodConfig = RunPlanner.methodConfig(config)
        let adapters = config.list("adapter_name_or_path") ?? []
        if adapters.count > 1 {  // LLaMA-Factory merges all but the last into the base, then trains the last further
            if packed != nil {
                throw TrainingError("adapter_name_or_path: a quantized base takes a single adapter to train further (\(adapters.count) given); merge the others into the base first")
            }
            try AdapterLoading.apply(Array(adapters.dropLast()), to: model, plugins: plugins, merge: true)
            print("adapter_name_or_path: merged \(adapters.dropLast().joined(separator: ", ")) into the base; training \(adapters.last!) further")
        }
        if let last = adapters.last {  // continue training this adapter with its own settings
            for (k, v) in try AdapterLoading.methodConfig(adapterDirectory: last, plugins: plugins, model: model).config.pairs { methodConfig[k] = v }
        }
        if let targets = vocabularyTargets(config, model: model, methodConfig: methodConfig) {
            methodConfig["additional_target"] = .array(targets.map { .string($0) })
            print("vocabulary resized: \(targets.joined(separator: ", ")) trained whole (additional_target), as LLaMA-Factory does")
        }
        let method = try FinetuningMethodInstance(try plugins.registry(.finetuningMethod).lookup(config.string("finetuning_type") ?? "lora"),
                                                  config: .object(methodConfig))
        if let (quantizer, request) = packed {  // QLoRA: the base stays packed, only the method's tensors train
            if let problem = RunPlanner.capabilityProblem(method: method.component, try method.declaration(), quantizer: quantizer.component,
                                                          trainableBase: try quantizer.declaration().trainableBase) {
                throw TrainingError(problem)
            }
            print("quantized base (\(quantizer.component.name), \(request)): "
                  + (model.packReport?.line ?? "nothing packed"))
        }
        return try AdaptedModel(model: model, method: method, adapterDirectory: adapters.last, seed: UInt64(truncatingIfNeeded: seed), training: true)
    }

    /// LLaMA-Factory trains the embeddings and the LM head whole when the vocabulary was resized and no
    /// additional_target is set (LoRA): their modules' names, else nil.
    static func vocabularyTargets(_ config: RunConfig, model: LoadedModel, methodConfig: JSONObject) -> [String]? {
        guard (config.string("finetuning_type") ?? "lora") == "lora", methodConfig["additional_target"] == nil,
              let change = config.vocabularyChange(), change.resize || !model.addedVocabulary.isEmpty else { return nil }
        let rows = model.vocabularySize
        let modules = (model.description["parameters"]?.arrayValue ?? []).compactMap { p -> String? in
            guard let name = p["name"]?.stringValue, name.hasSuffix(".weight"), p["shape"]?.arrayValue?.first?.intValue == Int64(rows) else { return nil }
            return name.dropLast(".weight".count).split(separator: ".").last.map(String.init)
        }
        return modules.isEmpty ? nil : Array(Set(modules)).sorted()
    }

    /// Gradient checkpointing for this run's context: on unless disabled; a quantized base recomputes its
    /// linears too (memory first, as QLoRA is for). Returns what it chose, in words.
    static func configureCheckpointing(_ context: ExecutionContext, _ config: RunConfig, quantizedBase: Bool) -> String {
        context.checkpointing = !(config.bool("disable_gradient_checkpointing") ?? false)
        context.keepLinearOutputs = !(config.bool("recompute_linears") ?? quantizedBase)
        return !context.checkpointing ? "off (every activation kept)"
            : context.keepLinearOutputs ? "each layer keeps its linears' outputs (no GEMM twice; recompute_linears: true saves memory)"
            : "each layer keeps only its input (linears recomputed in backward: least memory)"
    }

    /// The largest micro-batch (per_device_train_batch_size rows of the longest example, twice as many rows
    /// for pairs) against the memory left.
    static func checkActivationsFit(_ args: TrainingArguments, train: [EncodedExample], model: LoadedModel, checkpointing: Bool,
                                    rowsPerExample: Int = 1) throws {
        let longest = train.map(\.inputIDs.count).max() ?? 0
        let rows = min(args.batchSize, train.count) * rowsPerExample
        guard let bytes = MemoryEstimate.activations(tokens: rows * longest, hfConfig: model.description["hf_config"], checkpointing: checkpointing)
        else { return }
        let available = MemoryEstimate.available()
        guard bytes < available else {
            throw TrainingError("per_device_train_batch_size \(args.batchSize) × the longest example (\(longest) tokens) needs about \(MemoryEstimate.gib(bytes)) of activations, more than the \(MemoryEstimate.gib(available)) available; lower per_device_train_batch_size (raise gradient_accumulation_steps instead) or cutoff_len")
        }
    }

    /// LLaMA-Factory's rule: an existing, non-empty output_dir without checkpoints needs overwrite_output_dir.
    static func guardOutputDirectory(_ args: TrainingArguments, contents: [String]) throws {
        guard !contents.isEmpty else { return }
        if args.overwriteOutputDir || args.resumeFromCheckpoint != nil || !Checkpoints.list(args.outputDir).isEmpty { return }
        throw TrainingError("\(args.outputDir): output_dir exists and is not empty; set overwrite_output_dir: true or resume_from_checkpoint")
    }
}
