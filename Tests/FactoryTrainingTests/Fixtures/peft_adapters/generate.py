"""PEFT adapters that use adapter_config.json's less common keys, on ../../../../../shared/fixtures/tiny
(llama: untied head, no biases; qwen2: tied head, q/k/v biases), and the loss PEFT computes with each.
Every case: LoraConfig(**case) on the tiny model, torch.manual_seed(0) before get_peft_model, then every
trainable tensor is moved off its initial value (lora_B ~ N(0, 0.05²); modules_to_save copies and biases
+ N(0, 0.05²)), all from torch.Generator seed 1, so every adapter part changes the loss. The adapter is
saved with PEFT's save_pretrained to <case>/, and the loss of the batch below (model.eval(), no dropout)
goes to reference.json, with the tensor names PEFT saved.
  - batch: 3 rows of deterministic ids (lengths 20, 13, 7), right-padded with 0; labels = ids with the
    first 4 positions -100, -100 on padding; attention_mask 0 on padding (as tiny_dora).
Run: python3 generate.py SHARED_DIR"""
import json, os, sys, warnings

import torch
from peft import LoraConfig, get_peft_model
from safetensors import safe_open
from transformers import AutoModelForCausalLM

torch.set_num_threads(1)
warnings.filterwarnings("ignore")
shared = sys.argv[1]
here = os.path.dirname(os.path.abspath(__file__))

CASES = {
    # modules_to_save: PEFT copies the module, trains and saves the copy
    "llama_lm_head": ("llama", dict(target_modules=["q_proj", "v_proj"], modules_to_save=["lm_head"])),
    # tied embeddings: the copy of lm_head no longer follows embed_tokens (and the reverse)
    "qwen2_tied_lm_head": ("qwen2", dict(target_modules=["q_proj", "v_proj"], modules_to_save=["lm_head"])),
    "qwen2_tied_embed": ("qwen2", dict(target_modules=["q_proj", "v_proj"], modules_to_save=["embed_tokens"])),
    # ensure_weight_tying: the embedding copy stays tied to the head
    "qwen2_ensure_tying": ("qwen2", dict(target_modules=["q_proj", "v_proj"], modules_to_save=["embed_tokens"], ensure_weight_tying=True)),
    # PEFT matches modules_to_save by suffix without a dot: "norm" is every RMSNorm
    "llama_norm_suffix": ("llama", dict(target_modules=["q_proj", "v_proj"], modules_to_save=["norm"])),
    # per-module rank and alpha; patterns are regexes matched against the end of the module name
    "llama_patterns": ("llama", dict(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj", "down_proj"],
                                     rank_pattern={"q_proj": 2, r"layers\.1\.mlp\.down_proj": 6}, alpha_pattern={"v_proj": 32})),
    "llama_patterns_rslora": ("llama", dict(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"], use_rslora=True,
                                            rank_pattern={"v_proj": 8}, alpha_pattern={r"model\.layers\.0\.self_attn\.q_proj": 2})),
    "llama_layers": ("llama", dict(target_modules=["q_proj", "k_proj", "v_proj", "o_proj"], layers_to_transform=[1], layers_pattern="layers")),
    "llama_layers_int": ("llama", dict(target_modules=["gate_proj", "up_proj"], layers_to_transform=0)),
    "llama_regex": ("llama", dict(target_modules=r".*\.(q_proj|up_proj)")),
    "llama_exclude": ("llama", dict(target_modules=["q_proj", "k_proj", "v_proj", "o_proj"], exclude_modules=["o_proj", "model.layers.0.self_attn.k_proj"])),
    "llama_exclude_regex": ("llama", dict(target_modules=["q_proj", "v_proj"], exclude_modules=r".*layers\.0\..*")),
    # fan_in_fan_out on nn.Linear: PEFT warns and sets it to False (the saved config is set back to True below)
    "llama_fan_in_fan_out": ("llama", dict(target_modules=["q_proj", "v_proj"], fan_in_fan_out=True)),
    "qwen2_bias_all": ("qwen2", dict(target_modules=["q_proj", "o_proj"], bias="all")),
    "qwen2_bias_lora_only": ("qwen2", dict(target_modules=["q_proj", "k_proj"], bias="lora_only")),
    "qwen2_dora_patterns": ("qwen2", dict(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"], use_dora=True, rank_pattern={"v_proj": 2})),
}

lengths = [20, 13, 7]
rows = [[(i * 37 + j * 11) % 500 + 3 for j in range(n)] for i, n in enumerate(lengths)]
L = max(lengths)
ids = torch.tensor([r + [0] * (L - len(r)) for r in rows])
mask = torch.tensor([[1] * len(r) + [0] * (L - len(r)) for r in rows])
labels = torch.tensor([[-100] * 4 + r[4:] + [-100] * (L - len(r)) for r in rows])

reference = {"rows": rows, "labels_masked_prefix": 4, "pad_id": 0, "cases": {}}
for case, (family, kwargs) in CASES.items():
    model = AutoModelForCausalLM.from_pretrained(os.path.join(shared, "fixtures/tiny", family), dtype=torch.float32)
    base_loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss.item()
    torch.manual_seed(0)
    model = get_peft_model(model, LoraConfig(r=kwargs.pop("r", 4), lora_alpha=kwargs.pop("lora_alpha", 8), **kwargs))
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if not p.requires_grad or "lora_A" in name:
                continue
            if "lora_B" in name:
                p.copy_(torch.randn(p.shape, generator=g) * 0.05)
            else:
                p.add_(torch.randn(p.shape, generator=g) * 0.05)
    model.eval()
    with torch.no_grad():
        loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss.item()
    out = os.path.join(here, case)
    model.save_pretrained(out)
    if kwargs.get("fan_in_fan_out"):  # PEFT saves the corrected False; keep what an older or hand-written config says
        config = json.load(open(os.path.join(out, "adapter_config.json")))
        config["fan_in_fan_out"] = True
        json.dump(config, open(os.path.join(out, "adapter_config.json"), "w"), indent=2, sort_keys=True)
    with safe_open(os.path.join(out, "adapter_model.safetensors"), "pt") as f:
        names = sorted(f.keys())
    reference["cases"][case] = {"family": family, "loss": loss, "base_loss": base_loss, "saved": names}
    print(case, base_loss, loss)

import peft, transformers
reference["versions"] = {"torch": torch.__version__, "peft": peft.__version__, "transformers": transformers.__version__}
json.dump(reference, open(os.path.join(here, "reference.json"), "w"), indent=1)
