/// What Factory does with a LLaMA-Factory key that it does not implement: refuse it, or accept it with
/// one note line saying what Factory does instead. Values that ask for what Factory does anyway (the
/// key's off state, LLaMA-Factory's default) pass silently. Every schema key is either read by some
/// part of Factory or listed here (KeyHandlingTests checks both ways), so no key is accepted and ignored.
public struct KeyHandling: Sendable {
    public enum Action: String, Sendable { case refuse = "refused", note = "noted" }
    public let action: Action
    /// Values (lowercased as written; numbers compared as numbers; "[]" for an empty list) that pass silently.
    public let quiet: [String]
    /// What Factory does instead, after "key: value — ".
    public let message: String

    /// Whether `value` asks for something other than what Factory does.
    func applies(to value: ConfigValue) -> Bool {
        let text: String
        switch value {
        case .list(let items): text = items.isEmpty ? "[]" : items.joined(separator: ",").lowercased()
        default: text = value.description.lowercased()
        }
        return !quiet.contains { q in q == text || (Double(q).map { d in Double(text) == d } ?? false) }
    }
}

func refuse(unless quiet: [String] = [], _ message: String) -> KeyHandling { KeyHandling(action: .refuse, quiet: quiet, message: message) }
func note(unless quiet: [String] = [], _ message: String) -> KeyHandling { KeyHandling(action: .note, quiet: quiet, message: message) }

/// Phrases shared by several entries.
private let noDownload = "Factory reads local files only and downloads nothing, so it is not used"
private let float32 = "Factory computes in float32 here; its mixed precision is bf16: true (bf16 products on CPUs with AVX512_BF16 or AMX)"
private let cpuOnly = "Factory runs on the CPU with its own kernels (same math), so it is not used"
private let noMultimodal = "no multimodal model family exists yet, so it has no effect"
private let noGPTQ = "GPTQ quantization while exporting is not implemented; `factory export` writes the merged model in infer_dtype"
private let oneProcess = "Factory's distributed training is data parallelism on Open MPI (mpirun -np N factory run; docs/distributed.md)"
private let noTracker = "Factory logs to trainer_log.jsonl and contacts no tracker"
/// "it applies to KEY, which Factory does not do".
private func appliesTo(_ key: String) -> String { "it applies to \(key), which Factory does not do" }
private let noPreference = "it is read by stage ppo, which is not implemented yet"

public enum UnimplementedKeys {
    /// Key → what Factory does with it. Keys absent here are implemented (read where they apply).
    public static let table: [String: KeyHandling] = [
        // model
        "adapter_folder": refuse("several adapters from one folder are not supported; list them in adapter_name_or_path"),
        "cache_dir": note(noDownload), "hf_hub_token": note(noDownload), "ms_hub_token": note(noDownload), "om_hub_token": note(noDownload),
        "model_revision": refuse(unless: ["main"], "Factory reads the local model as it is and cannot select a hub revision"),
        "use_fast_tokenizer": note(unless: ["true"], "Factory's tokenizer gives the fast (tokenizers) ids, which the slow tokenizer matches"),
        "split_special_tokens": refuse(unless: ["false"], "splitting special tokens is not implemented"),
        "low_cpu_mem_usage": note(unless: ["true"], "Factory always loads weights one tensor at a time"),
        "shift_attn": refuse(unless: ["false"], "LongLoRA's shift short attention is not implemented"),
        "mixture_of_depths": refuse("mixture-of-depths is not implemented"),
        "use_unsloth": note(unless: ["false"], cpuOnly), "use_unsloth_gc": note(unless: ["false"], cpuOnly),
        "enable_liger_kernel": note(unless: ["false"], cpuOnly + "; the LM head and loss are fused already"),
        "moe_aux_loss_coef": note("no mixture-of-experts family exists yet, so it has no effect"),
        "use_reentrant_gc": note(unless: ["true"], "Factory's gradient checkpointing re-runs each layer in backward; the torch variant does not apply"),
        "upcast_layernorm": note(unless: ["false"], "norms already run in float32"),
        "upcast_lmhead_output": note(unless: ["false"], "LM-head outputs are already float32"),
        "train_from_scratch": refuse(unless: ["false"], "random initialisation of a model is not implemented"),
        "infer_backend": note(unless: ["huggingface"], "Factory generates with its own engine"),
        "offload_folder": note("Factory does not offload weights to disk"),
        "use_cache": note(unless: ["true"], "generation always uses the KV cache (the results are the same)"),
        "use_kv_cache": note(unless: ["true"], "generation always uses the KV cache (the results are the same)"),
        "print_param_status": note(unless: ["false"], "Factory prints the trainable parameter count, not each parameter"),
        "trust_remote_code": note(unless: ["false"], "Factory runs no model code from the model directory; only its family plugins load models"),
        "block_diag_attn": note(unless: ["false"], "block-diagonal attention follows neat_packing"),
        "quantization_device_map": note("Factory runs on the CPU"),
        "model_max_length": note("cutoff_len bounds the training sequences; the model's context length bounds generation"),
        // export
        "export_device": note(unless: ["cpu"], "Factory merges and writes on the CPU"),
        "export_quantization_bit": refuse(noGPTQ), "export_quantization_dataset": refuse(noGPTQ),
        "export_quantization_nsamples": refuse(noGPTQ), "export_quantization_maxlen": refuse(noGPTQ),
        "export_legacy_format": refuse(unless: ["false"], "an export writes safetensors only (no pickled .bin weights)"),
        "export_hub_model_id": refuse("Factory uploads nothing to a model hub; push export_dir yourself"),
        // data
        "media_dir": refuse(noMultimodal + "; images, videos and audios are refused"),
        "streaming": refuse(unless: ["false"], "streaming datasets are not implemented; the dataset is read whole"),
        "buffer_size": note("it applies to streaming, which Factory does not do"),
        "overwrite_cache": note("the tokenized cache (tokenized_path) is rebuilt whenever an input changes, so it is never stale"),
        "preprocessing_batch_size": note("Factory tokenizes in one pass (stage kto pairs each row with the previous row's answer in chunks of 1000 rows, LLaMA-Factory's default)"),
        "preprocessing_num_workers": note("Factory tokenizes on the run's threads"),
        "eval_num_beams": refuse(unless: ["1"], "beam search is not implemented"),
        "ignore_pad_token_for_loss": refuse(unless: ["true"], "padding is always left out of the loss"),
        "eval_on_each_dataset": refuse(unless: ["false"], "evaluation runs over the eval datasets together"),
        "tool_format": refuse("a template writes tools in its own family's format (qwen, qwen3: Qwen's); choosing another is not implemented"),
        "enable_thinking": refuse(unless: ["true"], "use the template qwen3_nothink for Qwen3 without thinking"),
        "data_shared_file_system": note("every rank of an mpirun run reads the dataset itself; rank 0 alone writes output_dir"),
        // finetuning
        "use_llama_pro": refuse(unless: ["false"], "LLaMA Pro (block expansion) is not implemented"),
        "use_adam_mini": refuse(unless: ["false"], "Adam-mini is not implemented; the optimizer is AdamW"),
        "freeze_vision_tower": note(unless: ["true"], noMultimodal), "freeze_multi_modal_projector": note(unless: ["true"], noMultimodal),
        "freeze_language_model": note(unless: ["false"], noMultimodal),
        "early_stopping_steps": refuse("early stopping is not implemented"),
        "include_effective_tokens_per_second": note(unless: ["false"], "trainer_log.jsonl records tokens per second at every logged step"),
        "loraplus_lr_embedding": note("Factory's LoRA adapts no embedding layer, so there is no embedding adapter to give this rate"),
        "pissa_init": refuse(unless: ["false"], "PiSSA initialisation is not implemented"),
        "pissa_iter": note("it applies to pissa_init, which Factory does not do"),
        "pissa_convert": refuse(unless: ["false"], "PiSSA initialisation is not implemented"),
        "create_new_adapter": refuse(unless: ["false"], "training a new adapter on top of adapter_name_or_path is not implemented; the given adapter is trained further"),
        "reward_model": note(noPreference), "reward_model_adapters": note(noPreference),
        "reward_model_quantization_bit": note(noPreference), "reward_model_type": note(noPreference),
        "use_galore": refuse(unless: ["false"], "GaLore is not implemented"),
        "galore_target": note("it applies to use_galore, which Factory does not do"), "galore_rank": note("it applies to use_galore, which Factory does not do"),
        "galore_update_interval": note("it applies to use_galore, which Factory does not do"), "galore_scale": note("it applies to use_galore, which Factory does not do"),
        "galore_proj_type": note("it applies to use_galore, which Factory does not do"), "galore_layerwise": note(unless: ["false"], "it applies to use_galore, which Factory does not do"),
        "use_badam": refuse(unless: ["false"], "BAdam is not implemented"),
        "badam_mode": note("it applies to use_badam, which Factory does not do"), "badam_start_block": note("it applies to use_badam, which Factory does not do"),
        "badam_switch_mode": note("it applies to use_badam, which Factory does not do"), "badam_switch_interval": note("it applies to use_badam, which Factory does not do"),
        "badam_update_ratio": note("it applies to use_badam, which Factory does not do"), "badam_mask_mode": note("it applies to use_badam, which Factory does not do"),
        "badam_verbose": note("it applies to use_badam, which Factory does not do"),
        // generating
        "num_beams": refuse(unless: ["1"], "beam search is not implemented"),
        "length_penalty": note(unless: ["1"], "it applies to beam search, which Factory does not do"),
        "max_length": note("max_new_tokens bounds generation, as it does whenever both are set in transformers"),
        "skip_special_tokens": refuse(unless: ["true"], "generated text always leaves special tokens out"),
        // training
        "generation_max_length": note("max_new_tokens bounds generation, as LLaMA-Factory passes it to generate and it takes precedence there"),
        "generation_num_beams": refuse(unless: ["1"], "beam search is not implemented"),
        "prediction_loss_only": note("evaluation computes the loss only"),
        "eval_accumulation_steps": note("evaluation keeps no predictions to accumulate"),
        "lr_scheduler_kwargs": refuse(unless: ["{}"], "scheduler arguments are not implemented"),
        "log_level": note("Factory prints its own progress lines"),
        "logging_dir": note("logs go to output_dir (trainer_log.jsonl)"),
        "logging_strategy": refuse(unless: ["steps"], "logging happens every logging_steps"),
        "save_safetensors": note(unless: ["true"], "Factory saves safetensors"),
        "data_seed": note("the data order follows seed"),
        "fp16": note(unless: ["false"], float32), "tf32": note(unless: ["false"], float32),
        "dataloader_num_workers": note("batches are built in the training process"),
        "disable_tqdm": note("Factory prints one line per logged step"),
        "remove_unused_columns": note("only the columns the dataset's formatting names are read"),
        "load_best_model_at_end": refuse(unless: ["false"], "the final weights are saved; keeping the best checkpoint is not implemented"),
        "metric_for_best_model": note("it applies to load_best_model_at_end, which is not implemented"),
        "greater_is_better": note("it applies to load_best_model_at_end, which is not implemented"),
        "report_to": note(unless: ["none", "[]"], "Factory logs to trainer_log.jsonl and contacts no tracker"),
        "gradient_checkpointing": note("gradient checkpointing follows disable_gradient_checkpointing (on by default, as in LLaMA-Factory)"),
        "ddp_timeout": note("not used: data-parallel runs use Open MPI, whose own timeouts apply; a lost rank stops the run (docs/distributed.md)"),
        "deepspeed": note("DeepSpeed is not used: data-parallel training runs on Open MPI (mpirun -np N factory run; docs/distributed.md), and zero_stage: 1 shards the optimizer state as ZeRO-1 does"),
        "run_name": note("it names a tracker run; Factory contacts no tracker"),
        "include_num_input_tokens_seen": note(unless: ["false"], "trainer_log.jsonl records the tokens seen at every logged step"),
        "torch_compile": note(unless: ["false"], "Factory has no torch to compile; its kernels are compiled ahead of time"),
        "push_to_hub": refuse(unless: ["false"], "Factory uploads nothing"),
        "hub_model_id": note("Factory uploads nothing"),
        "use_cpu": note("Factory runs on the CPU"),
        // other LLaMA-Factory arguments
        "use_apollo": refuse(unless: ["false"], "the APOLLO optimizer is not implemented; the optimizer is AdamW"),
        "apollo_proj": note(appliesTo("use_apollo")),
        "apollo_proj_type": note(appliesTo("use_apollo")),
        "apollo_rank": note(appliesTo("use_apollo")),
        "apollo_scale": note(appliesTo("use_apollo")),
        "apollo_scale_type": note(appliesTo("use_apollo")),
        "apollo_target": note(appliesTo("use_apollo")),
        "apollo_update_interval": note(appliesTo("use_apollo")),
        "apollo_layerwise": note(unless: ["false"], appliesTo("use_apollo")),
        "apollo_scale_front": note(unless: ["false"], appliesTo("use_apollo")),
        "use_asft_loss": refuse(unless: ["false"], "the ASFT loss is not implemented"), "asft_alpha": note(appliesTo("use_asft_loss")),
        "use_dft_loss": refuse(unless: ["false"], "the DFT loss is not implemented"),
        "use_eaft_loss": refuse(unless: ["false"], "the EAFT loss is not implemented"), "eaft_alpha": note(appliesTo("use_eaft_loss")),
        "use_muon": refuse(unless: ["false"], "the Muon optimizer is not implemented; the optimizer is AdamW"),
        "fp8": refuse(unless: ["false"], "FP8 training is not implemented; " + float32),
        "fp8_backend": note(appliesTo("fp8")), "fp8_enable_fsdp_float8_all_gather": note(unless: ["false"], appliesTo("fp8")),
        "use_hyper_parallel": refuse(unless: ["false"], oneProcess), "hyper_parallel_args": note(appliesTo("use_hyper_parallel")),
        "use_mca": refuse(unless: ["false"], "Megatron-Core training is not implemented; " + oneProcess),
        "use_kt": refuse(unless: ["false"], "KTransformers is not used; Factory runs its own CPU kernels"),
        "kt_expert_checkpoint_path": note(appliesTo("use_kt")),
        "kt_lora_expert_intermediate_size": note(appliesTo("use_kt")),
        "kt_lora_expert_num": note(appliesTo("use_kt")),
        "kt_use_lora_experts": note(appliesTo("use_kt")),
        "kt_weight_path": note(appliesTo("use_kt")),
        "ray_init_kwargs": note(oneProcess),
        "ray_num_workers": note(oneProcess),
        "master_addr": note(oneProcess),
        "master_port": note(oneProcess),
        "fsdp": note(unless: ["[]", ""], oneProcess), "fsdp_transformer_layer_cls_to_wrap": note(oneProcess),
        "fsdp_config": note(oneProcess),
        "image_max_pixels": note(noMultimodal),
        "image_min_pixels": note(noMultimodal),
        "video_fps": note(noMultimodal),
        "video_max_pixels": note(noMultimodal),
        "video_maxlen": note(noMultimodal),
        "video_min_pixels": note(noMultimodal),
        "audio_sampling_rate": note(noMultimodal),
        "crop_to_patches": note(unless: ["false"], noMultimodal),
        "image_do_pan_and_scan": note(unless: ["false"], noMultimodal),
        "use_audio_in_video": note(unless: ["false"], noMultimodal),
        "download_mode": note("factory eval reads the task folder as it is (nothing is downloaded)"),
        "compute_dtype": note(float32),
        "device_map": note("Factory runs on the CPU"),
        "init_special_tokens": refuse(unless: ["noise_init"], "initialising new tokens from descriptions (desc_init) is not implemented; new rows are the mean of the others plus noise (noise_init)"),
        "new_special_tokens_config": refuse("token descriptions are not read; list the tokens in add_special_tokens (their rows start as noise_init)"),
        "ppo_buffer_size": note(noPreference),
        "ppo_epochs": note(noPreference),
        "ppo_target": note(noPreference),
        "ppo_score_norm": note(unless: ["false"], noPreference),
        "ppo_whiten_rewards": note(unless: ["false"], noPreference),
        "module_dropout": note("it applies to finetuning_type oft, which Factory does not have"),
        "oft_block_size": note("it applies to finetuning_type oft, which Factory does not have"),
        "oft_rank": note("it applies to finetuning_type oft, which Factory does not have"),
        "oft_target": note("it applies to finetuning_type oft, which Factory does not have"),
        "preserve_thinking": refuse(unless: ["false"], "keeping the thinking of earlier turns is not implemented; templates render it as the model's own template does"),
        "enable_torch_profiler": refuse(unless: ["false"], "Factory has no torch profiler; bench/ measures speed"),
        "profile_modules": note(appliesTo("enable_torch_profiler")),
        "profiler_active_steps": note(appliesTo("enable_torch_profiler")),
        "profiler_output_dir": note(appliesTo("enable_torch_profiler")),
        "profiler_repeat": note(appliesTo("enable_torch_profiler")),
        "profiler_wait_steps": note(appliesTo("enable_torch_profiler")),
        "profiler_warmup_steps": note(appliesTo("enable_torch_profiler")),
        "profiler_profile_memory": note(unless: ["true"], appliesTo("enable_torch_profiler")),
        "profiler_record_shapes": note(unless: ["true"], appliesTo("enable_torch_profiler")),
        "profiler_with_stack": note(unless: ["true"], appliesTo("enable_torch_profiler")),
        "sglang_config": note("it configures an inference backend Factory does not use; Factory generates with its own engine"),
        "sglang_lora_backend": note("it configures an inference backend Factory does not use; Factory generates with its own engine"),
        "sglang_maxlen": note("it configures an inference backend Factory does not use; Factory generates with its own engine"),
        "sglang_mem_fraction": note("it configures an inference backend Factory does not use; Factory generates with its own engine"),
        "sglang_tp_size": note("it configures an inference backend Factory does not use; Factory generates with its own engine"),
        "vllm_config": note("it configures an inference backend Factory does not use; Factory generates with its own engine"),
        "vllm_gpu_util": note("it configures an inference backend Factory does not use; Factory generates with its own engine"),
        "vllm_max_lora_rank": note("it configures an inference backend Factory does not use; Factory generates with its own engine"),
        "vllm_maxlen": note("it configures an inference backend Factory does not use; Factory generates with its own engine"),
        "vllm_enforce_eager": note(unless: ["false"], "it configures an inference backend Factory does not use; Factory generates with its own engine"),
        "use_swanlab": note(unless: ["false"], noTracker),
        "swanlab_api_key": note(noTracker),
        "swanlab_lark_secret": note(noTracker),
        "swanlab_lark_webhook_url": note(noTracker),
        "swanlab_logdir": note(noTracker),
        "swanlab_mode": note(noTracker),
        "swanlab_project": note(noTracker),
        "swanlab_run_name": note(noTracker),
        "swanlab_workspace": note(noTracker),
        "use_v1_kernels": note(unless: ["false"], cpuOnly),
    ]

    /// The refusal (thrown) or the notes for the set keys of `config` listed in the table.
    public static func check(_ config: RunConfig) throws -> [String] {
        var notes: [String] = []
        // in the order the file gives them, so the first refusal is the first such line
        func line(_ key: String) -> Int { Int(config.origin(of: key).split(separator: ":").last ?? "") ?? Int.max }
        for key in config.keys.sorted(by: { (line($0), $0) < (line($1), $1) }) {
            guard let handling = table[key], let value = config.values[key], handling.applies(to: value) else { continue }
            let line = "\(config.origin(of: key)) \(key): \(value) — \(handling.message)"
            switch handling.action {
            case .refuse: throw ConfigError(message: line)
            case .note: notes.append(line)
            }
        }
        return notes
    }
}
