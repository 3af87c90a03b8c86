import FactoryConfig
import FactoryEngine

/// The training keys LLaMA-Factory forwards to transformers' TrainingArguments, with their defaults.
public struct TrainingArguments {
    public var outputDir = "saves/run"
    public var overwriteOutputDir = false
    public var learningRate = 5e-5
    public var epochs = 3.0
    public var maxSteps = -1
    public var batchSize = 8
    public var evalBatchSize = 8
    public var gradientAccumulation = 1
    public var schedule = LRSchedule.linear
    public var warmupRatio = 0.0
    public var warmupSteps = 0
    public var weightDecay = 0.0
    public var beta1 = 0.9, beta2 = 0.999, epsilon = 1e-8
    /// 0 disables clipping.
    public var maxGradNorm = 1.0
    public var seed = 42
    /// NEFTune: uniform noise on the input embeddings while training; 0 = off.
    public var neftuneNoiseAlpha = 0.0
    /// Every N steps; a value < 1 is a fraction of the run's total steps (transformers' rule, see `everySteps`).
    public var loggingSteps = 500.0
    public var saveSteps = 500.0
    public var saveTotalLimit: Int? = nil
    public var saveOnlyModel = false
    /// ZeRO stage (`zero_stage`, a Factory key): 1 shards AdamW's moments across a data-parallel run's ranks.
    public var zeroStage = 0
    /// Evaluate every N steps (nil: no evaluation): eval_strategy steps with eval_steps (else logging_steps).
    public var evalSteps: Double? = nil
    /// do_eval: evaluate after the last step too (LLaMA-Factory's workflow calls evaluate() after training).
    public var evaluateAtEnd = false
    /// compute_accuracy: stage sft's evaluations also report eval_accuracy (LLaMA-Factory's ComputeAccuracy).
    public var computeAccuracy = false
    /// save_strategy: no — no checkpoints during training (the final save still happens).
    public var saveCheckpoints = true
    /// logging_first_step: the first step is logged as well.
    public var logFirstStep = false
    public var disableShuffling = false
    public var plotLoss = false
    public var resumeFromCheckpoint: String? = nil

    public init() {}

    public init(_ c: RunConfig) throws {
        if let v = c.string("output_dir") { outputDir = v }
        if let v = c.bool("overwrite_output_dir") { overwriteOutputDir = v }
        if let v = c.double("learning_rate") { learningRate = v }
        if let v = c.double("num_train_epochs") { epochs = v }
        if let v = c.int("max_steps") { maxSteps = v }
        if let v = c.int("per_device_train_batch_size") { batchSize = v }
        if let v = c.int("per_device_eval_batch_size") { evalBatchSize = v }
        if let v = c.int("gradient_accumulation_steps") { gradientAccumulation = v }
        if let v = c.string("lr_scheduler_type") {
            guard let s = LRSchedule(rawValue: v) else {  // a transformers name (the schema checked that) Factory does not implement
                throw TrainingError("\(c.origin(of: "lr_scheduler_type")) lr_scheduler_type: '\(v)' is not implemented in Factory (it has \(LRSchedule.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            schedule = s
        }
        if let v = c.double("warmup_ratio") { warmupRatio = v }
        if let v = c.int("warmup_steps") { warmupSteps = v }
        if let v = c.double("weight_decay") { weightDecay = v }
        if let v = c.double("adam_beta1") { beta1 = v }
        if let v = c.double("adam_beta2") { beta2 = v }
        if let v = c.double("adam_epsilon") { epsilon = v }
        if let v = c.double("max_grad_norm") { maxGradNorm = v }
        if let v = c.int("seed") { seed = v }
        if let v = c.double("logging_steps") { loggingSteps = v }
        if let v = c.double("save_steps") { saveSteps = v }
        saveTotalLimit = c.int("save_total_limit")
        if let v = c.bool("save_only_model") { saveOnlyModel = v }
        if let v = c.int("zero_stage") {
            guard v <= 1 else {
                throw TrainingError("\(c.origin(of: "zero_stage")) zero_stage: \(v) is not implemented (ZeRO-2 and ZeRO-3 shard gradients and weights); zero_stage: 1 shards the optimizer state")
            }
            zeroStage = v
        }
        // transformers: eval_strategy "steps" evaluates every eval_steps (logging_steps when unset), "no" never;
        // without eval_strategy Factory evaluates every eval_steps when they are given (CrossKeyRules notes it)
        switch c.string("eval_strategy") ?? c.string("evaluation_strategy") {
        case "no"?: evalSteps = nil
        case "steps"?: evalSteps = c.double("eval_steps") ?? loggingSteps
        case nil: evalSteps = c.double("eval_steps")
        case let other?:
            let key = c.string("eval_strategy") != nil ? "eval_strategy" : "evaluation_strategy"
            throw TrainingError("\(c.origin(of: key)) \(key): \(other) is not implemented (Factory evaluates by steps: steps or no)")
        }
        evaluateAtEnd = c.bool("do_eval") ?? false
        computeAccuracy = c.bool("compute_accuracy") ?? false
        switch c.string("save_strategy") {
        case "no"?: saveCheckpoints = false
        case "steps"?, nil: break
        case let other?: throw TrainingError("\(c.origin(of: "save_strategy")) save_strategy: \(other) is not implemented (Factory saves by steps: steps or no)")
        }
        if let v = c.bool("logging_first_step") { logFirstStep = v }
        if let v = c.bool("disable_shuffling") { disableShuffling = v }
        if let v = c.bool("plot_loss") { plotLoss = v }
        if let r = c.string("resume_from_checkpoint"), !["false", "none", ""].contains(r.lowercased()) {
            resumeFromCheckpoint = r.lowercased() == "true" ? "auto" : r
        }
        if let optim = c.string("optim"), !["adamw_torch", "adamw_hf", "adamw_torch_fused"].contains(optim) {
            throw TrainingError("optim: '\(optim)' is not available; this build has AdamW (adamw_torch)")
        }
        if let alpha = c.double("neftune_noise_alpha") { neftuneNoiseAlpha = alpha }
        // Ranges were checked by the config schema (docs/configuration.md) when the keys were set.
    }

    /// An "every N steps" value for a run of `total` steps: N ≥ 1 as given, a fraction f < 1 as ⌈f·total⌉ (transformers).
    public static func everySteps(_ value: Double, total: Int) -> Int {
        value < 1 ? max(1, Int((value * Double(total)).rounded(.up))) : max(1, Int(min(value, 1e15)))
    }
}
