// checkpoint-N/: the trained tensors (as the final save writes them), the optimizer's moments
// (optimizer.safetensors, "<name>.exp_avg" / "<name>.exp_avg_sq"), and trainer_state.json
// (global step, optimizer step, the batch plan's seed, the log history). The learning rate and
// the data position follow from the step; dropout seeds restart (noted in docs/training.md).
// A checkpoint is written into checkpoint-N.partial and renamed: a kill mid-save leaves only a
// .partial directory, never a broken checkpoint-N, and the previous checkpoints untouched.
import FactoryEngine
import FactoryFormats
import FactoryJSON
import Foundation

enum Checkpoints {
    static let prefix = "checkpoint-"

    /// Complete checkpoints in `directory`, oldest first.
    static func list(_ directory: String) -> [(step: Int, path: String)] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.compactMap { name -> (Int, String)? in
            guard name.hasPrefix(prefix), let step = Int(name.dropFirst(prefix.count)) else { return nil }
            let path = directory + "/" + name
            return FileManager.default.fileExists(atPath: path + "/trainer_state.json") ? (step, path) : nil
        }.sorted { $0.0 < $1.0 }
    }

    /// The checkpoint to resume from: the one named, or with "auto" (or when output_dir holds
    /// checkpoints and overwrite_output_dir is off, as LLaMA-Factory does) the newest.
    static func toResume(_ args: TrainingArguments) throws -> String? {
        if let r = args.resumeFromCheckpoint, r != "auto" {
            guard FileManager.default.fileExists(atPath: r + "/trainer_state.json") else {
                throw TrainingError("resume_from_checkpoint: \(r) is not a checkpoint (no trainer_state.json)")
            }
            return r
        }
        if args.overwriteOutputDir && args.resumeFromCheckpoint == nil { return nil }
        return list(args.outputDir).last?.path
    }

    /// trainer_state.json of a checkpoint, parsed; a file cut short (a copy interrupted, a disk that filled)
    /// is named with its path.
    static func state(_ checkpoint: String) throws -> JSON {
        let path = checkpoint + "/trainer_state.json"
        let state: JSON
        do { state = try JSON.parse(bytes: try FileSystem.read(path)) } catch let e as JSONParseError {
            throw TrainingError("\(path): not a complete trainer state (\(e)); resume from another checkpoint or delete this one")
        }
        guard state["global_step"]?.intValue != nil else { throw TrainingError("\(path): no global_step") }
        return state
    }

    /// The refusal of a resume that has nothing to train, or nil. A checkpoint at the last step whose run
    /// was stopped before its final save (no train_results.json of that step in output_dir) is not refused:
    /// the run trains no step and writes the final results from it.
    static func nothingLeft(_ checkpoint: String, step: Int, total: Int, maxSteps: Int, outputDir: String) -> TrainingError? {
        guard step > total || (step == total && finalResultsSaved(outputDir, step: step)) else { return nil }
        return TrainingError("resume_from_checkpoint: \(checkpoint) is at step \(step) and this run ends at step \(total)"
                             + (maxSteps > 0 ? " (max_steps)" : "") + ": nothing is left to train; raise "
                             + (maxSteps > 0 ? "max_steps" : "num_train_epochs") + ", or set overwrite_output_dir: true to start over")
    }

    /// True when output_dir holds the final results of a run that ended at `step`.
    static func finalResultsSaved(_ outputDir: String, step: Int) -> Bool {
        guard let bytes = try? FileSystem.read(outputDir + "/train_results.json"), let results = try? JSON.parse(bytes: bytes) else { return false }
        return results["train_steps"]?.intValue == Int64(step)
    }

    /// Before the model loads: with max_steps set, the checkpoint a run would resume from must leave something to do.
    static func checkSomethingIsLeft(_ args: TrainingArguments) throws {
        guard args.maxSteps > 0, let checkpoint = try toResume(args) else { return }
        let step = Int(try state(checkpoint)["global_step"]!.intValue!)
        if let refusal = nothingLeft(checkpoint, step: step, total: args.maxSteps, maxSteps: args.maxSteps, outputDir: args.outputDir) {
            throw refusal
        }
    }

    /// `moments`: every optimizer parameter's moments gathered from the ranks (ZeRO-1), else the optimizer's own.
    static func save(_ trainer: Trainer, step: Int, history: [StepRecord], moments gathered: [(m: Tensor, v: Tensor)]? = nil) throws {
        let final = trainer.args.outputDir + "/" + prefix + String(step)
        let partial = final + ".partial"
        let fm = FileManager.default
        try? fm.removeItem(atPath: partial)
        try AdapterFiles.save(trainer.adapted, to: partial, baseModel: trainer.baseModel)
        try trainer.valueHead?.save(to: partial)
        if !trainer.args.saveOnlyModel {
            var moments: [(String, Tensor)] = []
            for (i, (p, name)) in zip(trainer.optimizer.parameters, trainer.momentNames).enumerated() {
                let (m, v) = gathered?[i] ?? p.moments
                moments.append((name + ".exp_avg", m))
                moments.append((name + ".exp_avg_sq", v))
            }
            try AdapterFiles.writeTensors(moments, to: partial + "/optimizer.safetensors")
        }
        let state = JSONObject([
            ("global_step", .int(Int64(step))), ("optimizer_step", .int(Int64(trainer.optimizer.stepCount))),
            ("total_steps", .int(Int64(trainer.totalSteps))), ("seed", .int(Int64(trainer.args.seed))),
            ("epoch", .double(trainer.plan.epoch(afterSteps: step))), ("has_optimizer", .bool(!trainer.args.saveOnlyModel)),
            ("world_size", .int(Int64(trainer.parallel.worldSize))), ("global_batch_size", .int(Int64(trainer.plan.batchSize))),
            ("log_history", .array(history.map { r in
                .object(JSONObject([("step", .int(Int64(r.step))), ("loss", .double(r.loss)), ("grad_norm", .double(r.gradNorm)),
                                    ("learning_rate", .double(r.learningRate)), ("tokens", .int(Int64(r.tokens))), ("seconds", .double(r.seconds))]))
            })),
        ])
        try AtomicFile.write(JSON.object(state).prettyPrinted() + "\n", to: partial + "/trainer_state.json")
        try? fm.removeItem(atPath: final)
        guard rename(partial, final) == 0 else { throw TrainingError("\(final): could not move the checkpoint into place (\(FileSystem.reason()))") }
        if let limit = trainer.args.saveTotalLimit, limit > 0 {
            for old in list(trainer.args.outputDir).dropLast(limit) { try? fm.removeItem(atPath: old.path) }
        }
    }

    /// Restores tensors, moments and step from `path` into `trainer`.
    static func load(_ path: String, into trainer: Trainer) throws -> (step: Int, history: [StepRecord]) {
        let state = try state(path)
        let step = state["global_step"]!.intValue!
        // a data-parallel run's data position is its global batch's: another world size resumes only with the same one
        let savedWorld = Int(state["world_size"]?.intValue ?? 1), world = trainer.parallel.worldSize
        if savedWorld != world, let saved = state["global_batch_size"]?.intValue, Int(saved) != trainer.plan.batchSize {
            throw TrainingError("\(path): saved by a run of \(savedWorld) process(es) with a global batch of \(saved) examples; this run has \(world) with \(trainer.plan.batchSize): resume with per_device_train_batch_size × processes = \(saved), or with \(savedWorld) process(es)")
        }
        let peft = trainer.adapted.declaration.adapterFormat == "peft"
        let weights = try SafetensorsFile(path: path + (peft ? "/adapter_model.safetensors" : "/model.safetensors"))
        for t in trainer.adapted.trainable {
            let name = peft ? t.savedAs : t.name
            guard let stored = weights.tensors[name], stored.shape == t.tensor.shape else {
                throw TrainingError("\(weights.path): '\(name)' is missing or has another shape than this run's \(t.tensor.shape)")
            }
            try copy(try weights.float32(name), into: t.tensor)
        }
        if let head = trainer.valueHead {
            guard let saved = try ValueHead.load(from: path, hidden: head.weight.shape[1]) else {
                throw TrainingError("\(path): no \(ValueHead.fileName), which this stage rm run trains")
            }
            head.weight.data.update(from: saved.weight.data, count: head.weight.count)
            head.bias.data[0] = saved.bias.data[0]
        }
        if state["has_optimizer"]?.boolValue ?? true {
            let moments = try SafetensorsFile(path: path + "/optimizer.safetensors")
            for (p, name) in zip(trainer.optimizer.parameters, trainer.momentNames) where p.owned {  // ZeRO-1: this rank's share
                try copy(try moments.float32(name + ".exp_avg"), into: p.moments.m)
                try copy(try moments.float32(name + ".exp_avg_sq"), into: p.moments.v)
            }
            trainer.optimizer.stepCount = Int(state["optimizer_step"]?.intValue ?? step)
        }
        let history = (state["log_history"]?.arrayValue ?? []).map { r in
            StepRecord(step: Int(r["step"]?.intValue ?? 0), loss: r["loss"]?.doubleValue ?? 0, gradNorm: r["grad_norm"]?.doubleValue ?? 0,
                       learningRate: r["learning_rate"]?.doubleValue ?? 0, tokens: Int(r["tokens"]?.intValue ?? 0),
                       seconds: r["seconds"]?.doubleValue ?? 0)
        }
        return (Int(step), history)
    }

    static func copy(_ values: [Float], into t: Tensor) throws {
        guard values.count == t.count else { throw TrainingError("checkpoint tensor of \(values.count) values for shape \(t.shape)") }
        values.withUnsafeBufferPointer { t.data.update(from: $0.baseAddress!, count: values.count) }
    }
}
