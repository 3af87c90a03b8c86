// The files a Hugging Face or LLaMA-Factory user looks for beside the final weights, with the
// Trainer's field names: train_results.json, eval_results.json (when evaluated), all_results.json,
// trainer_state.json (log_history), running_log.txt, and a README.md model card.
import FactoryFormats
import FactoryJSON
import Foundation

/// What the model card says about the run (set by TrainingJob; tests leave the defaults).
public struct ModelCardInfo {
    public var datasets: [String] = []
    public var stage = "sft"
    public var finetuningType = ""
    public init() {}
}

/// The numbers of a finished run, as the final save reports them.
struct FinishedRun {
    let steps: Int, meanLoss: Double, seconds: Double, tokens: Int
    /// The evaluation at the last step: loss, its runtime and the stage's metrics (saved with eval_ before them).
    let lastEval: (loss: Double, seconds: Double, metrics: [String: Double])?
}

enum TrainingResults {
    /// Writes every result file of `run` into `directory` (the staging folder of the final save).
    /// `logged`: the records of trainer_log.jsonl (TrainerLog.records).
    static func write(_ trainer: Trainer, _ run: FinishedRun, logged: [JSON], runningLog: [String], to directory: String) throws {
        let args = trainer.args
        let epoch = trainer.plan.epoch(afterSteps: run.steps)
        let samples = Double(run.steps * args.batchSize * args.gradientAccumulation)
        var train = JSONObject([
            ("epoch", .double(epoch)), ("total_flos", .double(totalFlos(trainer, tokens: run.tokens))), ("train_loss", .double(run.meanLoss)),
            ("train_runtime", .double(rounded(run.seconds))), ("train_samples_per_second", .double(rounded(samples / max(run.seconds, 1e-9)))),
            ("train_steps_per_second", .double(rounded(Double(run.steps) / max(run.seconds, 1e-9)))),
        ])
        // Factory's own, kept beside transformers' names
        train["train_steps"] = .int(Int64(run.steps))
        train["train_tokens_per_second"] = .double(run.seconds > 0 ? Double(run.tokens) / run.seconds : 0)
        try save(train, directory + "/train_results.json")
        var all = train
        if let eval = run.lastEval {
            let batches = Double((trainer.eval.count + args.evalBatchSize - 1) / args.evalBatchSize)
            var metrics = JSONObject([
                ("epoch", .double(epoch)), ("eval_loss", .double(eval.loss)), ("eval_runtime", .double(rounded(eval.seconds))),
                ("eval_samples_per_second", .double(rounded(Double(trainer.eval.count) / max(eval.seconds, 1e-9)))),
                ("eval_steps_per_second", .double(rounded(batches / max(eval.seconds, 1e-9)))),
            ])
            if trainer.modelCard.stage == "pt" { metrics["perplexity"] = .double(exp(eval.loss)) }  // LLaMA-Factory's pt workflow adds it
            for (key, value) in eval.metrics.sorted(by: { $0.key < $1.key }) { metrics["eval_" + key] = .double(value) }
            try save(metrics, directory + "/eval_results.json")
            for (k, v) in metrics.pairs { all[k] = v }
        }
        try save(all, directory + "/all_results.json")
        try save(trainerState(trainer, run, logged: logged, summary: train), directory + "/trainer_state.json")
        try AtomicFile.write(runningLog.joined(separator: "\n") + "\n", to: directory + "/running_log.txt")
        try AtomicFile.write(modelCard(trainer, run, logged: logged), to: directory + "/README.md")
    }

    static func save(_ o: JSONObject, _ path: String) throws { try AtomicFile.write(JSON.object(o).prettyPrinted() + "\n", to: path) }

    /// transformers' estimate: 6 × (parameters but the embeddings) × tokens.
    static func totalFlos(_ trainer: Trainer, tokens: Int) -> Double {
        let store = trainer.adapted.model.parameters
        let tiedHead = store["lm_head.weight"] != nil && store["lm_head.weight"] === store["model.embed_tokens.weight"]
        let counted = (trainer.adapted.model.description["parameters"]?.arrayValue ?? []).reduce(0.0) { sum, p in
            guard let name = p["name"]?.stringValue, !name.contains("embed_tokens"), !(tiedHead && name.hasPrefix("lm_head")) else { return sum }
            return sum + Double((p["shape"]?.arrayValue ?? []).compactMap(\.intValue).reduce(1, *))
        }
        return 6 * counted * Double(tokens)
    }

    static func rounded(_ x: Double) -> Double { (x * 1000).rounded() / 1000 }

    /// The Hugging Face Trainer's trainer_state.json: the logged steps and evaluations (from trainer_log.jsonl,
    /// which a resumed run keeps), then the run's summary entry.
    static func trainerState(_ trainer: Trainer, _ run: FinishedRun, logged: [JSON], summary: JSONObject) -> JSONObject {
        let args = trainer.args
        var history: [JSON] = []
        for r in logged {
            guard let step = r["current_steps"] else { continue }
            var entry = JSONObject()
            if let epoch = r["epoch"] { entry["epoch"] = epoch } else { entry["epoch"] = .double(trainer.plan.epoch(afterSteps: Int(step.intValue ?? 0))) }
            if let eval = r["eval_loss"] {
                entry["eval_loss"] = eval
            } else {
                for (from, to) in [("grad_norm", "grad_norm"), ("lr", "learning_rate"), ("loss", "loss"), ("total_tokens", "num_input_tokens_seen")] {
                    if let v = r[from] { entry[to] = v }
                }
            }
            // a stage's own metrics (dpo: rewards/…, logps/…, and their eval_ twins) under the names TRL logs
            for (key, value) in r.objectValue?.pairs ?? [] where key.contains("/") || key.hasPrefix("eval_") && key != "eval_loss" { entry[key] = value }
            entry["step"] = step
            history.append(.object(entry))
        }
        var last = JSONObject([("epoch", .double(trainer.plan.epoch(afterSteps: run.steps))), ("step", .int(Int64(run.steps)))])
        for key in ["total_flos", "train_loss", "train_runtime", "train_samples_per_second", "train_steps_per_second"] { last[key] = summary[key] }
        history.append(.object(last))
        return JSONObject([
            ("best_global_step", .null), ("best_metric", .null), ("best_model_checkpoint", .null),
            ("epoch", .double(trainer.plan.epoch(afterSteps: run.steps))),
            ("eval_steps", trainer.evalEvery.map { .int(Int64($0)) } ?? .null), ("global_step", .int(Int64(run.steps))),
            ("is_hyper_param_search", false), ("is_local_process_zero", true), ("is_world_process_zero", true),
            ("log_history", .array(history)), ("logging_steps", .int(Int64(trainer.logEvery))), ("max_steps", .int(Int64(trainer.totalSteps))),
            ("num_input_tokens_seen", .int(Int64(run.tokens))), ("num_train_epochs", .int(Int64(args.epochs.rounded(.up)))),
            ("save_steps", .int(Int64(trainer.saveEvery))), ("total_flos", summary["total_flos"] ?? .null),
            ("train_batch_size", .int(Int64(args.batchSize))), ("trial_name", .null), ("trial_params", .null),
        ])
    }

    /// A model card in the shape transformers writes for a Trainer run (YAML header, results, hyperparameters).
    static func modelCard(_ trainer: Trainer, _ run: FinishedRun, logged: [JSON]) -> String {
        let args = trainer.args, card = trainer.modelCard
        let peft = trainer.adapted.declaration.adapterFormat == "peft"
        let name = (args.outputDir as NSString).lastPathComponent
        let method = card.finetuningType.isEmpty ? trainer.adapted.method.component.name : card.finetuningType
        var text = "---\n" + (peft ? "library_name: peft\n" : "library_name: transformers\n") + "base_model: \(trainer.baseModel)\n"
        text += "tags:\n- llama-factory\n- factory\n- \(method)\n- generated_from_trainer\n"
        if !card.datasets.isEmpty { text += "datasets:\n" + card.datasets.map { "- \($0)\n" }.joined() }
        text += "model-index:\n- name: \(name)\n  results: []\n---\n\n"
        // a hub id links to its page; a local path is named as it is
        let hubID = trainer.baseModel.split(separator: "/").count == 2 && !trainer.baseModel.hasPrefix(".") && !trainer.baseModel.hasPrefix("/")
            && !FileManager.default.fileExists(atPath: trainer.baseModel)
        text += "# \(name)\n\nThis model is a fine-tuned version of " + (hubID ? "[\(trainer.baseModel)](https://huggingface.co/\(trainer.baseModel))" : "`\(trainer.baseModel)`")
        text += card.datasets.isEmpty ? ".\n" : " on the \(card.datasets.joined(separator: ", ")) dataset\(card.datasets.count == 1 ? "" : "s").\n"
        text += "It was trained with Factory (stage \(card.stage), finetuning_type \(method)) for \(run.steps) steps; final mean training loss \(String(format: "%.4f", run.meanLoss)).\n"
        if let eval = run.lastEval { text += "It achieves the following results on the evaluation set:\n- Loss: \(String(format: "%.4f", eval.loss))\n" }
        text += "\n## Training hyperparameters\n\nThe following hyperparameters were used during training:\n"
        let rows: [(String, String)] = [
            ("learning_rate", String(args.learningRate)), ("train_batch_size", String(args.batchSize)), ("eval_batch_size", String(args.evalBatchSize)),
            ("seed", String(args.seed)), ("gradient_accumulation_steps", String(args.gradientAccumulation)),
            ("total_train_batch_size", String(args.batchSize * args.gradientAccumulation)),
            ("optimizer", "AdamW with betas=(\(args.beta1),\(args.beta2)) and epsilon=\(args.epsilon), weight_decay \(args.weightDecay)"),
            ("lr_scheduler_type", args.schedule.rawValue), ("training_steps", String(trainer.totalSteps)),
        ] + (args.warmupSteps > 0 ? [("lr_scheduler_warmup_steps", String(args.warmupSteps))]
             : args.warmupRatio > 0 ? [("lr_scheduler_warmup_ratio", String(args.warmupRatio))] : [])
        text += rows.map { "- \($0.0): \($0.1)\n" }.joined()
        text += "\n## Training results\n\n| Step | Training Loss |\n|---|---|\n"
        for r in logged {
            guard let step = r["current_steps"]?.intValue, let loss = r["loss"]?.doubleValue else { continue }
            text += "| \(step) | \(String(format: "%.4f", loss)) |\n"
        }
        text += "\n## Framework versions\n\n- Factory (native Swift; no PyTorch)\n"
        return text
    }
}
