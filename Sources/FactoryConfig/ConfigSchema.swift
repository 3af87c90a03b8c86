/// The type a config key expects.
public enum ConfigType: String, Sendable {
    case string = "a string"
    case int = "an integer"
    case float = "a number"
    case bool = "a boolean (true/false)"
    /// A YAML list or a comma-separated string (LLaMA-Factory splits `dataset`, `lora_target`, ... on commas).
    case list = "a list or a comma-separated string"
    /// Any YAML value, kept as JSON for a plugin to read (e.g. `rope_scaling`).
    case any = "any value"
}

/// One config key: its name, type and the values it accepts.
public struct ConfigKey: Sendable {
    public let name: String
    public let type: ConfigType
    /// The range or set of allowed values; nil when the type says all (paths, names, free text).
    public let rule: ValueRule?
}

/// A table entry: `key("learning_rate", .float, .above(0))`.
func key(_ name: String, _ type: ConfigType, _ rule: ValueRule? = nil) -> ConfigKey { ConfigKey(name: name, type: type, rule: rule) }

/// Bounds shared by many keys: token counts (2^20 — a million-token context), step and sample counts,
/// micro-batch sizes, beams, threads, and seeds (transformers' set_seed takes 0 ≤ seed < 2^32).
/// Upper bounds keep every product of config values inside integer range; memory is checked later.
let tokenLimit = 1_048_576.0, countLimit = 1_000_000_000.0, batchLimit = 1_000_000.0, beamLimit = 64.0, threadLimit = 1024.0,
    seedLimit = 4_294_967_295.0

/// transformers' scheduler names (SchedulerType); Factory implements some of them and refuses the others by name.
let lrSchedulers = ["linear", "cosine", "cosine_with_restarts", "polynomial", "constant", "constant_with_warmup", "inverse_sqrt",
                    "reduce_lr_on_plateau", "cosine_with_min_lr", "cosine_warmup_with_min_lr", "warmup_stable_decay"]

/// Every key `factory run` accepts: LLaMA-Factory's YAML keys (its model, data,
/// fine-tuning, generating and export arguments, and the TrainingArguments it
/// forwards to transformers), plus Factory's own, each with its type and the values it
/// accepts. Grouped as LLaMA-Factory groups them; the table is data, read by RunConfig,
/// by `factory config keys` and (through it) by docs/configuration.md.
public enum ConfigSchema {
    public static let groups: [(name: String, keys: [ConfigKey])] = [
        ("model", [
            key("model_name_or_path", .string), key("adapter_name_or_path", .list), key("adapter_folder", .string), key("cache_dir", .string),
            key("use_fast_tokenizer", .bool), key("resize_vocab", .bool), key("split_special_tokens", .bool), key("add_tokens", .list),
            key("add_special_tokens", .list), key("new_special_tokens", .list), key("model_revision", .string), key("low_cpu_mem_usage", .bool),
            key("rope_scaling", .string, .oneOf(["linear", "dynamic", "yarn", "llama3"])), key("flash_attn", .string, .oneOf(["auto", "disabled", "sdpa", "fa2", "fa3"])), key("shift_attn", .bool), key("mixture_of_depths", .string, .oneOf(["convert", "load"])),
            key("use_unsloth", .bool), key("use_unsloth_gc", .bool), key("enable_liger_kernel", .bool), key("moe_aux_loss_coef", .float, .atLeast(0)),
            key("disable_gradient_checkpointing", .bool), key("use_reentrant_gc", .bool), key("upcast_layernorm", .bool),
            key("upcast_lmhead_output", .bool), key("train_from_scratch", .bool), key("infer_backend", .string, .oneOf(["huggingface", "vllm", "sglang", "ktransformers"])), key("offload_folder", .string),
            key("use_cache", .bool), key("infer_dtype", .string, .oneOf(["auto", "float16", "bfloat16", "float32"])), key("hf_hub_token", .string), key("ms_hub_token", .string),
            key("om_hub_token", .string), key("print_param_status", .bool), key("trust_remote_code", .bool), key("model_max_length", .int, .atLeast(1, max: tokenLimit)),
            key("block_diag_attn", .bool), key("use_kv_cache", .bool),
        ]),
        ("quantization", [
            key("quantization_method", .string), key("quantization_bit", .int, .within(2, 8)), key("quantization_type", .string, .oneOf(["fp4", "nf4"])),
            key("double_quantization", .bool), key("quantization_device_map", .string, .oneOf(["auto"])),
        ]),
        ("export", [
            key("export_dir", .string), key("export_size", .int, .atLeast(1, max: 1_000_000)), key("export_device", .string, .oneOf(["cpu", "auto"])), key("export_quantization_bit", .int, .within(2, 8)),
            key("export_quantization_dataset", .string), key("export_quantization_nsamples", .int, .atLeast(1, max: countLimit)), key("export_quantization_maxlen", .int, .atLeast(1, max: tokenLimit)),
            key("export_legacy_format", .bool), key("export_hub_model_id", .string), key("export_format", .string, .oneOf(["hf", "gguf", "gguf_lora"])), key("export_quantizer", .string),
        ]),
        ("data", [
            key("template", .string), key("dataset", .list), key("eval_dataset", .list), key("dataset_dir", .string), key("media_dir", .string),
            key("cutoff_len", .int, .atLeast(1, max: tokenLimit)), key("train_on_prompt", .bool), key("mask_history", .bool), key("streaming", .bool), key("buffer_size", .int, .atLeast(1, max: countLimit)),
            key("mix_strategy", .string, .oneOf(["concat", "interleave_under", "interleave_over"])), key("interleave_probs", .list, .eachNumber(.init(lower: 0, upper: 1))), key("overwrite_cache", .bool), key("preprocessing_batch_size", .int, .atLeast(1, max: countLimit)),
            key("preprocessing_num_workers", .int, .atLeast(1, max: threadLimit)), key("max_samples", .int, .atLeast(1)), key("eval_num_beams", .int, .atLeast(1, max: beamLimit)), key("ignore_pad_token_for_loss", .bool),
            key("val_size", .float, .atLeast(0, max: countLimit)), key("eval_on_each_dataset", .bool), key("packing", .bool), key("neat_packing", .bool), key("tool_format", .string),
            key("default_system", .string), key("enable_thinking", .bool), key("tokenized_path", .string), key("data_shared_file_system", .bool),
        ]),
        ("finetuning", [
            key("stage", .string, .oneOf(Stage.allCases.map(\.rawValue))), key("finetuning_type", .string), key("pure_bf16", .bool), key("use_llama_pro", .bool), key("use_adam_mini", .bool),
            key("freeze_vision_tower", .bool), key("freeze_multi_modal_projector", .bool), key("freeze_language_model", .bool),
            key("compute_accuracy", .bool), key("disable_shuffling", .bool), key("early_stopping_steps", .int, .atLeast(1, max: countLimit)), key("plot_loss", .bool),
            key("include_effective_tokens_per_second", .bool),
            key("freeze_trainable_layers", .int, .nonZero(.init(lower: -100_000, upper: 100_000))), key("freeze_trainable_modules", .list), key("freeze_extra_modules", .list),
            key("additional_target", .list), key("lora_alpha", .int, .above(0, max: 1_000_000)), key("lora_dropout", .float, .from(0, below: 1)), key("lora_rank", .int, .atLeast(1, max: 65536)), key("lora_target", .list),
            key("loraplus_lr_ratio", .float, .above(0, max: 1_000_000)), key("loraplus_lr_embedding", .float, .above(0)), key("use_rslora", .bool), key("use_dora", .bool),
            key("pissa_init", .bool), key("pissa_iter", .int, .atLeast(-1, max: 1_000_000)), key("pissa_convert", .bool), key("create_new_adapter", .bool),
            key("pref_beta", .float, .above(0)), key("pref_ftx", .float, .atLeast(0)), key("pref_loss", .string, .oneOf(["sigmoid", "hinge", "ipo", "kto_pair", "orpo", "simpo"])), key("dpo_label_smoothing", .float, .within(0, 0.5)),
            key("kto_chosen_weight", .float, .atLeast(0)), key("kto_rejected_weight", .float, .atLeast(0)), key("simpo_gamma", .float, .atLeast(0)), key("ref_model", .string),
            key("ref_model_adapters", .string), key("ref_model_quantization_bit", .int, .within(2, 8)), key("reward_model", .string),
            key("reward_model_adapters", .string), key("reward_model_quantization_bit", .int, .within(2, 8)), key("reward_model_type", .string, .oneOf(["lora", "full", "api"])),
            key("use_galore", .bool), key("galore_target", .list), key("galore_rank", .int, .atLeast(1, max: 65536)), key("galore_update_interval", .int, .atLeast(1, max: countLimit)),
            key("galore_scale", .float, .above(0)), key("galore_proj_type", .string, .oneOf(["std", "reverse_std", "right", "left", "full"])), key("galore_layerwise", .bool),
            key("use_badam", .bool), key("badam_mode", .string, .oneOf(["layer", "ratio"])), key("badam_start_block", .int, .atLeast(0, max: 100_000)), key("badam_switch_mode", .string, .oneOf(["ascending", "descending", "random", "fixed"])),
            key("badam_switch_interval", .int, .atLeast(-1, max: countLimit)), key("badam_update_ratio", .float, .after(0, upTo: 1)), key("badam_mask_mode", .string, .oneOf(["adjacent", "scatter"])), key("badam_verbose", .int, .within(0, 2)),
        ]),
        ("generating", [
            key("do_sample", .bool), key("temperature", .float, .atLeast(0)), key("top_p", .float, .after(0, upTo: 1)), key("top_k", .int, .atLeast(0)), key("num_beams", .int, .atLeast(1, max: beamLimit)),
            key("max_length", .int, .atLeast(1, max: tokenLimit)), key("max_new_tokens", .int, .atLeast(1, max: tokenLimit)), key("repetition_penalty", .float, .above(0)), key("length_penalty", .float),
            key("skip_special_tokens", .bool),
        ]),
        ("training", [
            key("output_dir", .string), key("overwrite_output_dir", .bool), key("do_train", .bool), key("do_eval", .bool), key("do_predict", .bool),
            key("eval_strategy", .string, .oneOf(["no", "steps", "epoch"])), key("evaluation_strategy", .string, .oneOf(["no", "steps", "epoch"])), key("prediction_loss_only", .bool),
            key("per_device_train_batch_size", .int, .atLeast(1, max: batchLimit)), key("per_device_eval_batch_size", .int, .atLeast(1, max: batchLimit)), key("gradient_accumulation_steps", .int, .atLeast(1, max: batchLimit)),
            key("eval_accumulation_steps", .int, .atLeast(1, max: batchLimit)), key("learning_rate", .float, .above(0)), key("weight_decay", .float, .atLeast(0)), key("adam_beta1", .float, .from(0, below: 1)),
            key("adam_beta2", .float, .from(0, below: 1)), key("adam_epsilon", .float, .above(0)), key("max_grad_norm", .float, .atLeast(0)), key("num_train_epochs", .float, .within(0, 1_000_000)),
            key("max_steps", .int, .interval(.init(upper: countLimit))), key("lr_scheduler_type", .string, .oneOf(lrSchedulers)), key("lr_scheduler_kwargs", .any), key("warmup_ratio", .float, .within(0, 1)),
            key("warmup_steps", .int, .atLeast(0, max: countLimit)), key("log_level", .string, .oneOf(["debug", "info", "warning", "error", "critical", "passive"])), key("logging_dir", .string), key("logging_strategy", .string, .oneOf(["no", "steps", "epoch"])),
            key("logging_first_step", .bool), key("logging_steps", .float, .above(0, max: countLimit)), key("save_strategy", .string, .oneOf(["no", "steps", "epoch", "best"])), key("save_steps", .float, .above(0, max: countLimit)),
            key("save_total_limit", .int, .atLeast(1, max: countLimit)), key("save_only_model", .bool), key("save_safetensors", .bool), key("seed", .int, .within(0, seedLimit)), key("data_seed", .int, .within(0, seedLimit)),
            key("bf16", .bool), key("fp16", .bool), key("tf32", .bool), key("eval_steps", .float, .above(0, max: countLimit)), key("dataloader_num_workers", .int, .atLeast(0, max: threadLimit)),
            key("disable_tqdm", .bool), key("remove_unused_columns", .bool), key("load_best_model_at_end", .bool),
            key("metric_for_best_model", .string), key("greater_is_better", .bool), key("optim", .string), key("report_to", .list),
            key("resume_from_checkpoint", .string), key("gradient_checkpointing", .bool), key("ddp_timeout", .int, .atLeast(1)), key("ddp_bucket_cap_mb", .float, .above(0, max: 65536)), key("deepspeed", .string),
            key("run_name", .string), key("predict_with_generate", .bool), key("generation_max_length", .int, .atLeast(1, max: tokenLimit)), key("generation_num_beams", .int, .atLeast(1, max: beamLimit)),
            key("neftune_noise_alpha", .float, .atLeast(0)), key("include_num_input_tokens_seen", .bool), key("torch_compile", .bool),
            key("push_to_hub", .bool), key("hub_model_id", .string), key("use_cpu", .bool),
        ]),
        // LLaMA-Factory 0.9.5's other arguments (optimizers, losses, multimodal processors, inference backends,
        // benchmark evaluation, trackers, profiler, Ray, KTransformers) and transformers' fsdp keys: known by name,
        // so a config using them is refused or noted with the reason, never "unknown key"
        ("other LLaMA-Factory arguments", [
            key("apollo_layerwise", .bool), key("apollo_proj", .string), key("apollo_proj_type", .string), key("apollo_rank", .int), key("apollo_scale", .float),
            key("apollo_scale_front", .bool), key("apollo_scale_type", .string), key("apollo_target", .string), key("apollo_update_interval", .int),
            key("asft_alpha", .float), key("audio_sampling_rate", .int), key("batch_size", .int, .atLeast(1, max: countLimit)), key("compute_dtype", .string), key("crop_to_patches", .bool),
            key("device_map", .any), key("download_mode", .string), key("eaft_alpha", .float), key("enable_torch_profiler", .bool), key("fp8", .bool),
            key("fp8_backend", .string), key("fp8_enable_fsdp_float8_all_gather", .bool), key("fsdp", .list), key("fsdp_config", .any), key("fsdp_transformer_layer_cls_to_wrap", .string), key("hyper_parallel_args", .string),
            key("image_do_pan_and_scan", .bool), key("image_max_pixels", .int), key("image_min_pixels", .int), key("init_special_tokens", .string),
            key("kt_expert_checkpoint_path", .string), key("kt_lora_expert_intermediate_size", .int), key("kt_lora_expert_num", .int), key("kt_use_lora_experts", .bool),
            key("kt_weight_path", .string), key("lang", .string, .oneOf(["en", "zh"])), key("ld_alpha", .float), key("master_addr", .string), key("master_port", .string),
            key("module_dropout", .float), key("n_shot", .int, .within(0, 100)), key("new_special_tokens_config", .string), key("oft_block_size", .int), key("oft_rank", .int),
            key("oft_target", .string), key("ppo_buffer_size", .int), key("ppo_epochs", .int), key("ppo_score_norm", .bool), key("ppo_target", .float),
            key("ppo_whiten_rewards", .bool), key("pref_bco_weight", .float), key("preserve_thinking", .bool), key("profile_modules", .string), key("profiler_active_steps", .int),
            key("profiler_output_dir", .string), key("profiler_profile_memory", .bool), key("profiler_record_shapes", .bool), key("profiler_repeat", .int),
            key("profiler_wait_steps", .int), key("profiler_warmup_steps", .int), key("profiler_with_stack", .bool), key("ray_init_kwargs", .any),
            key("ray_num_workers", .int), key("save_dir", .string), key("sglang_config", .any), key("sglang_lora_backend", .string), key("sglang_maxlen", .int),
            key("sglang_mem_fraction", .float), key("sglang_tp_size", .int), key("swanlab_api_key", .string), key("swanlab_lark_secret", .string),
            key("swanlab_lark_webhook_url", .string), key("swanlab_logdir", .string), key("swanlab_mode", .string), key("swanlab_project", .string),
            key("swanlab_run_name", .string), key("swanlab_workspace", .string), key("task", .string), key("task_dir", .string), key("use_apollo", .bool),
            key("use_asft_loss", .bool), key("use_audio_in_video", .bool), key("use_dft_loss", .bool), key("use_eaft_loss", .bool), key("use_hyper_parallel", .bool),
            key("use_kt", .bool), key("use_mca", .bool), key("use_muon", .bool), key("use_swanlab", .bool), key("use_v1_kernels", .bool), key("video_fps", .float),
            key("video_max_pixels", .int), key("video_maxlen", .int), key("video_min_pixels", .int), key("vllm_config", .any), key("vllm_enforce_eager", .bool),
            key("vllm_gpu_util", .float), key("vllm_max_lora_rank", .int), key("vllm_maxlen", .int),
        ]),
        ("factory", [
            key("plugins", .list), key("quantizer", .string), key("attention_kernel", .string), key("threads", .int, .within(1, threadLimit)),
            key("allow_template_mismatch", .bool), key("skip_bad_rows", .bool), key("merge", .bool), key("recompute_linears", .bool),
            key("api_max_sequences", .int, .within(1, 64)), key("api_queue_size", .int, .within(1, 100_000)), key("api_adapters", .any),
            key("int8_activations", .bool), key("communicator", .string), key("zero_stage", .int, .within(0, 3)),
        ]),
    ]

    /// Name -> key, built once from `groups`.
    public static let keys: [String: ConfigKey] = {
        var t: [String: ConfigKey] = [:]
        for group in groups { for k in group.keys { t[k.name] = k } }
        return t
    }()

    /// The known key closest to `key` in edit distance, when it is close enough to be a typo.
    public static func nearest(to key: String) -> String? {
        var best: (String, Int)?
        for candidate in keys.keys {
            let d = editDistance(key, candidate)
            if best == nil || d < best!.1 || (d == best!.1 && candidate < best!.0) { best = (candidate, d) }
        }
        guard let (name, distance) = best, distance <= max(2, key.count / 3) else { return nil }
        return name
    }

    /// Levenshtein distance over Unicode scalars.
    static func editDistance(_ a: String, _ b: String) -> Int {
        let x = Array(a.unicodeScalars), y = Array(b.unicodeScalars)
        if x.isEmpty { return y.count }
        var previous = Array(0...y.count)
        var current = previous
        for i in 1...x.count {
            current[0] = i
            for j in stride(from: 1, through: y.count, by: 1) {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (x[i - 1] == y[j - 1] ? 0 : 1))
            }
            swap(&previous, &current)
        }
        return previous[y.count]
    }
}
