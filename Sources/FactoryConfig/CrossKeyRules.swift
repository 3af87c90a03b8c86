/// Rules over several keys, or over one key whose meaning depends on another (transformers'
/// special values), checked once every key is set and before any command loads a model. An
/// error stops the command naming the key's file and line; a note is one line saying what
/// Factory does, so no value is quietly read otherwise than the user wrote it.
public enum CrossKeyRules {
    public enum Outcome: Equatable {
        /// Stops the command: the key at fault and what is wrong.
        case error(key: String, String)
        /// Printed once ("note: ..."); the command goes on.
        case note(String)
    }

    /// One rule: the keys it reads and what it says (for docs/configuration.md), and the check.
    public struct Rule: Sendable {
        public let keys: [String]
        public let summary: String
        let check: @Sendable (RunConfig) -> Outcome?
    }

    /// Every rule, in the order they are checked.
    public static let rules: [Rule] = [
        Rule(keys: ["num_train_epochs", "max_steps"], summary: "num_train_epochs > 0 unless max_steps > 0") { c in
            guard let epochs = c.double("num_train_epochs"), epochs == 0, (c.int("max_steps") ?? -1) <= 0 else { return nil }
            return .error(key: "num_train_epochs", "0 is out of range (expected > 0 when max_steps is not set)")
        },
        Rule(keys: ["max_steps"], summary: "max_steps ≤ 0 means: train num_train_epochs (note)") { c in
            guard let steps = c.int("max_steps"), steps <= 0 else { return nil }
            return .note("max_steps: \(steps) ≤ 0 means num_train_epochs (\(number(c.double("num_train_epochs") ?? 3))) sets the length, as in transformers")
        },
        Rule(keys: ["logging_steps", "save_steps", "eval_steps"],
             summary: "a value < 1 is a fraction of the total steps (note); a value ≥ 1 is a whole number") { c in
            for key in ["logging_steps", "save_steps", "eval_steps"] {
                guard let v = c.double(key) else { continue }
                if v > 1 && v != v.rounded() {
                    return .error(key: key, "\(v) is out of range (expected a whole number of steps, or a fraction < 1 of the total steps)")
                }
            }
            let fractions = ["logging_steps", "save_steps", "eval_steps"].filter { (c.double($0) ?? 1) < 1 }
            guard !fractions.isEmpty else { return nil }
            return .note(fractions.map { "\($0): \(c.double($0)!)" }.joined(separator: ", ")
                         + " < 1 is a fraction of the total steps (rounded up), as in transformers")
        },
        Rule(keys: ["eval_steps", "eval_strategy"], summary: "eval_steps without eval_strategy evaluates every eval_steps (note)") { c in
            guard let steps = c.double("eval_steps"), c.string("eval_strategy") == nil, c.string("evaluation_strategy") == nil else { return nil }
            return .note("eval_steps: \(number(steps)) without eval_strategy: Factory evaluates every eval_steps when there is eval data "
                         + "(transformers would need eval_strategy: steps)")
        },
        Rule(keys: ["warmup_steps", "warmup_ratio"], summary: "warmup_steps > 0 takes precedence over warmup_ratio (note)") { c in
            guard let steps = c.int("warmup_steps"), steps > 0, let ratio = c.double("warmup_ratio"), ratio > 0 else { return nil }
            return .note("warmup_steps: \(steps) is used and warmup_ratio: \(ratio) is not, as in transformers")
        },
        Rule(keys: ["temperature", "do_sample"], summary: "temperature 0 means greedy decoding (note)") { c in
            guard c.double("temperature") == 0, c.bool("do_sample") != false else { return nil }
            return .note("temperature: 0 means greedy decoding (do_sample: false)")
        },
        Rule(keys: ["do_sample", "temperature", "top_p", "top_k"], summary: "with do_sample: false, temperature/top_p/top_k do not apply (note)") { c in
            guard c.bool("do_sample") == false else { return nil }
            let set = ["temperature", "top_p", "top_k"].filter { c.values[$0] != nil }
            guard !set.isEmpty else { return nil }
            return .note("do_sample: false decodes greedily: \(set.joined(separator: ", ")) \(set.count == 1 ? "does" : "do") not apply (repetition_penalty does)")
        },
        Rule(keys: ["interleave_probs", "dataset", "mix_strategy"],
             summary: "one probability per dataset, summing to 1 (as numpy requires); with mix_strategy concat they do not apply (note)") { c in
            guard let probs = c.list("interleave_probs") else { return nil }
            let strategy = c.string("mix_strategy") ?? "concat"
            if strategy == "concat" { return .note("interleave_probs apply to mix_strategy interleave_under/interleave_over; concat appends the datasets") }
            let datasets = c.list("dataset")?.count ?? 0
            if probs.count != datasets {
                return .error(key: "interleave_probs", "\(probs.count) probabilit\(probs.count == 1 ? "y" : "ies") for \(datasets) dataset\(datasets == 1 ? "" : "s") (expected one per dataset)")
            }
            let sum = probs.compactMap(Double.init).reduce(0, +)
            if abs(sum - 1) > 1e-6 { return .error(key: "interleave_probs", "\(probs.joined(separator: ", ")) sum to \(sum) (expected a sum of 1)") }
            return nil
        },
        Rule(keys: ["stage", "pref_beta", "pref_ftx", "pref_loss", "dpo_label_smoothing", "simpo_gamma", "ld_alpha", "pref_bco_weight",
                    "kto_chosen_weight", "kto_rejected_weight", "ref_model", "ref_model_adapters", "ref_model_quantization_bit"],
             summary: "the preference keys apply to their stages: pref_beta, pref_ftx and ref_model* to dpo and kto, kto_*_weight to kto, the others to dpo (note under another stage)") { c in
            let stages: [(String, Set<Stage>)] = [("pref_beta", [.dpo, .kto]), ("pref_ftx", [.dpo, .kto]), ("pref_loss", [.dpo]), ("dpo_label_smoothing", [.dpo]),
                                                  ("simpo_gamma", [.dpo]), ("ld_alpha", [.dpo]), ("pref_bco_weight", [.dpo]),
                                                  ("kto_chosen_weight", [.kto]), ("kto_rejected_weight", [.kto]), ("ref_model", [.dpo, .kto]),
                                                  ("ref_model_adapters", [.dpo, .kto]), ("ref_model_quantization_bit", [.dpo, .kto])]
            let unread = stages.filter { c.values[$0.0] != nil && !$0.1.contains(c.stage) }
            guard !unread.isEmpty else { return nil }
            return .note(unread.map { "\($0.0) applies to stage \($0.1.map(\.rawValue).sorted().joined(separator: " and "))" }.joined(separator: ", ")
                         + "; this run is stage \(c.stage.rawValue), which does not read \(unread.count == 1 ? "it" : "them")")
        },
        Rule(keys: ["stage", "tokenized_path", "packing", "neat_packing", "train_on_prompt", "mask_history", "skip_bad_rows", "mix_strategy"],
             summary: "stages dpo, rm and kto encode their examples each run, whole, concatenated (note for the sft data keys they do not read)") { c in
            guard [.dpo, .rm, .kto].contains(c.stage) else { return nil }
            let flags = ["packing", "neat_packing", "train_on_prompt", "mask_history", "skip_bad_rows"].filter { c.bool($0) == true }
            let set = (c.string("tokenized_path") != nil ? ["tokenized_path"] : []) + flags
                + ((c.string("mix_strategy") ?? "concat") != "concat" ? ["mix_strategy"] : [])
            guard !set.isEmpty else { return nil }
            return .note("\(set.joined(separator: ", ")): stage \(c.stage.rawValue) reads its datasets without \(set.count == 1 ? "it" : "them"): "
                         + "examples are encoded each run (no tokenized cache), never packed, prompts unlabelled, datasets concatenated, a bad row stops the run")
        },
        Rule(keys: ["ref_model", "ref_model_adapters", "ref_model_quantization_bit"],
             summary: "ref_model_adapters and ref_model_quantization_bit apply to ref_model (note when it is unset)") { c in
            let unread = ["ref_model_adapters", "ref_model_quantization_bit"].filter { c.values[$0] != nil }
            guard c.string("ref_model") == nil, !unread.isEmpty else { return nil }
            return .note("\(unread.joined(separator: " and ")) \(unread.count == 1 ? "applies" : "apply") to ref_model, which is unset: the reference is the base with the adapter switched off (LoRA) or a frozen copy of the model")
        },
        Rule(keys: ["do_train", "export_dir", "do_eval", "do_predict"],
             summary: "do_train: false exports (with export_dir) or evaluates and predicts (do_eval, do_predict); with none of them there is nothing to do (error)") { c in
            guard c.bool("do_train") == false, c.string("export_dir") == nil, c.bool("do_eval") != true, c.bool("do_predict") != true else { return nil }
            return .error(key: "do_train", "false: nothing to do — set do_eval or do_predict (evaluation without training), or export_dir (an export)")
        },
        Rule(keys: ["do_predict", "predict_with_generate", "stage"],
             summary: "do_predict writes generated predictions: stage sft needs predict_with_generate (error, as LLaMA-Factory)") { c in
            guard c.bool("do_predict") == true, c.stage == .sft, c.bool("predict_with_generate") != true else { return nil }
            return .error(key: "do_predict", "true: set predict_with_generate: true to save model predictions (as LLaMA-Factory requires)")
        },
        Rule(keys: ["predict_with_generate", "do_train", "stage", "compute_accuracy"],
             summary: "predict_with_generate: stage sft only, not while training, not with compute_accuracy (errors, as LLaMA-Factory)") { c in
            guard c.bool("predict_with_generate") == true else { return nil }
            if c.stage != .sft { return .error(key: "predict_with_generate", "true: it applies to stage sft only (this run: \(c.stage.rawValue))") }
            if c.bool("do_train") == true { return .error(key: "predict_with_generate", "true: it cannot be set while training (do_train: true); predict in a run with do_predict and no do_train") }
            if c.bool("compute_accuracy") == true { return .error(key: "predict_with_generate", "true: it cannot be used with compute_accuracy (one evaluation generates, the other scores the labels)") }
            return nil
        },
        Rule(keys: ["do_eval", "do_predict", "predict_with_generate", "eval_dataset", "val_size"],
             summary: "do_eval, do_predict and predict_with_generate need eval_dataset or val_size (error, as LLaMA-Factory)") { c in
            let set = ["do_eval", "do_predict", "predict_with_generate"].filter { c.bool($0) == true }
            guard let first = set.first, (c.list("eval_dataset") ?? []).isEmpty, (c.double("val_size") ?? 0) < 1e-6 else { return nil }
            return .error(key: first, "true: there is nothing to evaluate; set eval_dataset (or val_size to hold part of dataset out)")
        },
        Rule(keys: ["compute_accuracy", "stage"],
             summary: "compute_accuracy is stage sft's token accuracy (error under another stage, whose evaluations have their own metrics)") { c in
            guard c.bool("compute_accuracy") == true, c.stage != .sft else { return nil }
            return .error(key: "compute_accuracy", "true: token accuracy is stage sft's evaluation metric (this run: stage \(c.stage.rawValue))")
        },
        Rule(keys: ["export_quantizer", "export_format"], summary: "export_quantizer packs a GGUF export: it needs export_format gguf (error otherwise)") { c in
            guard let quantizer = c.string("export_quantizer"), c.string("export_format") != "gguf" else { return nil }
            return .error(key: "export_quantizer", "\(quantizer): it packs the matrices of a GGUF export; set export_format: gguf (or factory export --gguf)")
        },
        Rule(keys: ["export_size", "export_format"], summary: "export_size splits Hugging Face exports; a GGUF export is one file (note)") { c in
            guard let size = c.int("export_size"), let format = c.string("export_format"), format != "hf" else { return nil }
            return .note("export_size: \(size) GB applies to Hugging Face exports; a GGUF export is one file (\(format == "gguf" ? "model.gguf" : "adapter.gguf"))")
        },
        Rule(keys: ["infer_dtype", "export_dir"],
             summary: "infer_dtype is the dtype an export writes; chat, generate and training compute in float32 (note for float16/bfloat16 without export_dir)") { c in
            guard let dtype = c.string("infer_dtype"), dtype == "float16" || dtype == "bfloat16", !c.isExportOnly else { return nil }
            return .note("infer_dtype: \(dtype): Factory computes in float32 (mixed precision is not implemented); infer_dtype sets the dtype `factory export` writes")
        },
        Rule(keys: ["export_dir", "export_size", "do_train"],
             summary: "export_dir and export_size belong to `factory export` (a config with do_train: true trains and does not export: note)") { c in
            let set = ["export_dir", "export_size"].filter { c.values[$0] != nil }
            guard !set.isEmpty, c.bool("do_train") == true else { return nil }
            return .note("\(set.joined(separator: ", ")): this config trains (do_train: true), and a training run does not export; run `factory export` on the result")
        },
        Rule(keys: ["dpo_label_smoothing", "pref_loss"], summary: "dpo_label_smoothing > 0 needs pref_loss sigmoid (as LLaMA-Factory checks)") { c in
            guard c.stage == .dpo, let eps = c.double("dpo_label_smoothing"), eps > 1e-6, let loss = c.string("pref_loss"), loss != "sigmoid" else { return nil }
            return .error(key: "dpo_label_smoothing", "\(number(eps)) applies to pref_loss sigmoid only (this run: \(loss))")
        },
        Rule(keys: ["quantization_type", "quantization_bit"], summary: "quantization_type applies to 4-bit quantization only (note)") { c in
            guard let type = c.string("quantization_type"), c.int("quantization_bit") != 4, c.string("quantizer") == nil else { return nil }
            return .note("quantization_type: \(type) applies only with quantization_bit: 4; "
                         + (c.int("quantization_bit").map { "\($0)-bit quantization does not use it" } ?? "no quantization_bit is set"))
        },
    ]

    /// Runs every rule: throws the first error (naming the key's origin), returns the notes.
    public static func check(_ config: RunConfig) throws -> [String] {
        var notes: [String] = []
        for rule in rules {
            switch rule.check(config) {
            case .error(let key, let message)?: throw ConfigError(message: "\(config.origin(of: key)) \(key): \(message)")
            case .note(let line)?: notes.append(line)
            case nil: break
            }
        }
        return notes
    }
}
