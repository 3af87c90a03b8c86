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

/// Every key `factory run` accepts: LLaMA-Factory's YAML keys (its model, data,
/// fine-tuning, generating and export arguments, and the TrainingArguments it
/// forwards to transformers), plus Factory's own. Grouped as LLaMA-Factory
/// groups them; the table is data, read by RunConfig and by `factory config keys`.
public enum ConfigSchema {
    public static let groups: [(name: String, keys: [(String, ConfigType)])] = [
        ("model", [
            ("model_name_or_path", .string), ("adapter_name_or_path", .list), ("adapter_folder", .string), ("cache_dir", .string),
            ("use_fast_tokenizer", .bool), ("resize_vocab", .bool), ("split_special_tokens", .bool), ("add_tokens", .list),
            ("add_special_tokens", .list), ("new_special_tokens", .list), ("model_revision", .string), ("low_cpu_mem_usage", .bool),
            ("rope_scaling", .any), ("flash_attn", .string), ("shift_attn", .bool), ("mixture_of_depths", .string),
            ("use_unsloth", .bool), ("use_unsloth_gc", .bool), ("enable_liger_kernel", .bool), ("moe_aux_loss_coef", .float),
            ("disable_gradient_checkpointing", .bool), ("use_reentrant_gc", .bool), ("upcast_layernorm", .bool),
            ("upcast_lmhead_output", .bool), ("train_from_scratch", .bool), ("infer_backend", .string), ("offload_folder", .string),
            ("use_cache", .bool), ("infer_dtype", .string), ("hf_hub_token", .string), ("ms_hub_token", .string),
            ("om_hub_token", .string), ("print_param_status", .bool), ("trust_remote_code", .bool), ("model_max_length", .int),
            ("block_diag_attn", .bool), ("use_kv_cache", .bool),
        ]),
        ("quantization", [
            ("quantization_method", .string), ("quantization_bit", .int), ("quantization_type", .string),
            ("double_quantization", .bool), ("quantization_device_map", .string),
        ]),
        ("export", [
            ("export_dir", .string), ("export_size", .int), ("export_device", .string), ("export_quantization_bit", .int),
            ("export_quantization_dataset", .string), ("export_quantization_nsamples", .int), ("export_quantization_maxlen", .int),
            ("export_legacy_format", .bool), ("export_hub_model_id", .string),
        ]),
        ("data", [
            ("template", .string), ("dataset", .list), ("eval_dataset", .list), ("dataset_dir", .string), ("media_dir", .string),
            ("cutoff_len", .int), ("train_on_prompt", .bool), ("mask_history", .bool), ("streaming", .bool), ("buffer_size", .int),
            ("mix_strategy", .string), ("interleave_probs", .list), ("overwrite_cache", .bool), ("preprocessing_batch_size", .int),
            ("preprocessing_num_workers", .int), ("max_samples", .int), ("eval_num_beams", .int), ("ignore_pad_token_for_loss", .bool),
            ("val_size", .float), ("eval_on_each_dataset", .bool), ("packing", .bool), ("neat_packing", .bool), ("tool_format", .string),
            ("default_system", .string), ("enable_thinking", .bool), ("tokenized_path", .string), ("data_shared_file_system", .bool),
        ]),
        ("finetuning", [
            ("stage", .string), ("finetuning_type", .string), ("pure_bf16", .bool), ("use_llama_pro", .bool), ("use_adam_mini", .bool),
            ("freeze_vision_tower", .bool), ("freeze_multi_modal_projector", .bool), ("freeze_language_model", .bool),
            ("compute_accuracy", .bool), ("disable_shuffling", .bool), ("early_stopping_steps", .int), ("plot_loss", .bool),
            ("include_effective_tokens_per_second", .bool),
            ("freeze_trainable_layers", .int), ("freeze_trainable_modules", .list), ("freeze_extra_modules", .list),
            ("additional_target", .list), ("lora_alpha", .int), ("lora_dropout", .float), ("lora_rank", .int), ("lora_target", .list),
            ("loraplus_lr_ratio", .float), ("loraplus_lr_embedding", .float), ("use_rslora", .bool), ("use_dora", .bool),
            ("pissa_init", .bool), ("pissa_iter", .int), ("pissa_convert", .bool), ("create_new_adapter", .bool),
            ("pref_beta", .float), ("pref_ftx", .float), ("pref_loss", .string), ("dpo_label_smoothing", .float),
            ("kto_chosen_weight", .float), ("kto_rejected_weight", .float), ("simpo_gamma", .float), ("ref_model", .string),
            ("ref_model_adapters", .string), ("ref_model_quantization_bit", .int), ("reward_model", .string),
            ("reward_model_adapters", .string), ("reward_model_quantization_bit", .int), ("reward_model_type", .string),
            ("use_galore", .bool), ("galore_target", .list), ("galore_rank", .int), ("galore_update_interval", .int),
            ("galore_scale", .float), ("galore_proj_type", .string), ("galore_layerwise", .bool),
            ("use_badam", .bool), ("badam_mode", .string), ("badam_start_block", .int), ("badam_switch_mode", .string),
            ("badam_switch_interval", .int), ("badam_update_ratio", .float), ("badam_mask_mode", .string), ("badam_verbose", .int),
        ]),
        ("generating", [
            ("do_sample", .bool), ("temperature", .float), ("top_p", .float), ("top_k", .int), ("num_beams", .int),
            ("max_length", .int), ("max_new_tokens", .int), ("repetition_penalty", .float), ("length_penalty", .float),
            ("skip_special_tokens", .bool),
        ]),
        ("training", [
            ("output_dir", .string), ("overwrite_output_dir", .bool), ("do_train", .bool), ("do_eval", .bool), ("do_predict", .bool),
            ("eval_strategy", .string), ("evaluation_strategy", .string), ("prediction_loss_only", .bool),
            ("per_device_train_batch_size", .int), ("per_device_eval_batch_size", .int), ("gradient_accumulation_steps", .int),
            ("eval_accumulation_steps", .int), ("learning_rate", .float), ("weight_decay", .float), ("adam_beta1", .float),
            ("adam_beta2", .float), ("adam_epsilon", .float), ("max_grad_norm", .float), ("num_train_epochs", .float),
            ("max_steps", .int), ("lr_scheduler_type", .string), ("lr_scheduler_kwargs", .any), ("warmup_ratio", .float),
            ("warmup_steps", .int), ("log_level", .string), ("logging_dir", .string), ("logging_strategy", .string),
            ("logging_first_step", .bool), ("logging_steps", .float), ("save_strategy", .string), ("save_steps", .float),
            ("save_total_limit", .int), ("save_only_model", .bool), ("save_safetensors", .bool), ("seed", .int), ("data_seed", .int),
            ("bf16", .bool), ("fp16", .bool), ("tf32", .bool), ("eval_steps", .float), ("dataloader_num_workers", .int),
            ("disable_tqdm", .bool), ("remove_unused_columns", .bool), ("load_best_model_at_end", .bool),
            ("metric_for_best_model", .string), ("greater_is_better", .bool), ("optim", .string), ("report_to", .list),
            ("resume_from_checkpoint", .string), ("gradient_checkpointing", .bool), ("ddp_timeout", .int), ("deepspeed", .string),
            ("run_name", .string), ("predict_with_generate", .bool), ("generation_max_length", .int), ("generation_num_beams", .int),
            ("neftune_noise_alpha", .float), ("include_num_input_tokens_seen", .bool), ("torch_compile", .bool),
            ("push_to_hub", .bool), ("hub_model_id", .string), ("use_cpu", .bool),
        ]),
        ("factory", [
            ("plugins", .list), ("quantizer", .string), ("attention_kernel", .string), ("threads", .int),
            ("allow_template_mismatch", .bool), ("skip_bad_rows", .bool), ("merge", .bool), ("recompute_linears", .bool),
        ]),
    ]

    /// Key -> type, built once from `groups`.
    public static let types: [String: ConfigType] = {
        var t: [String: ConfigType] = [:]
        for group in groups { for (key, type) in group.keys { t[key] = type } }
        return t
    }()

    /// The known key closest to `key` in edit distance, when it is close enough to be a typo.
    public static func nearest(to key: String) -> String? {
        var best: (String, Int)?
        for candidate in types.keys {
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
