"""References for what the tiny fixtures' own configs leave out: tiny models of ../../../../../shared/fixtures/tiny
(and ../tiny_gemma3) with config overrides — sliding windows that bite (the fixtures' sequences never reach theirs), every RoPE
scaling (linear, dynamic, llama3, yarn, longrope on either side of its original length), a partial rotary
dimension: transformers' loss on the family's first sequence (labels = ids), eager and sdpa attention
agreeing (Gemma 2: eager only). Writes reference.json.
Run: python3 generate.py SHARED_DIR"""
import json, os, shutil, sys, tempfile, warnings

import torch
from transformers import AutoModelForCausalLM

warnings.filterwarnings("ignore")
torch.set_num_threads(1)
shared = sys.argv[1]
here = os.path.dirname(os.path.abspath(__file__))
CASES = [
    ("mistral", {"sliding_window": None}),
    ("mistral", {"sliding_window": 4}),
    ("mistral", {"sliding_window": 9}),
    ("gemma2", {"sliding_window": 4}),  # layer_types: sliding, full
    ("gemma2", {"sliding_window": 4, "layer_types": ["full_attention", "sliding_attention"]}),
    ("gemma2", {"sliding_window": 4, "layer_types": ["full_attention", "full_attention"]}),
    ("phi3", {"sliding_window": 4}),
    ("llama", {"rope_parameters": {"rope_type": "linear", "factor": 2.0, "rope_theta": 10000.0}}),
    ("llama", {"rope_parameters": {"rope_type": "dynamic", "factor": 2.0, "rope_theta": 10000.0}, "max_position_embeddings": 16}),
    ("llama", {"rope_parameters": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                                   "original_max_position_embeddings": 64, "rope_theta": 10000.0}}),
    ("llama", {"rope_parameters": {"rope_type": "yarn", "factor": 4.0, "original_max_position_embeddings": 64, "rope_theta": 10000.0}}),
    ("llama", {"rope_parameters": {"rope_type": "yarn", "factor": 4.0, "original_max_position_embeddings": 64, "beta_fast": 8.0,
                                   "beta_slow": 2.0, "mscale": 1.0, "mscale_all_dim": 0.5, "truncate": False, "rope_theta": 10000.0}}),
    ("phi3", {"rope_parameters": {"rope_type": "default", "rope_theta": 10000.0, "partial_rotary_factor": 0.5}}),
    # head_dim^-1/2 as llama.cpp scales Gemma 2 and 3 (a GGUF cannot state query_pre_attn_scalar): ../tiny_gguf's references
    ("gemma2", {"query_pre_attn_scalar": 16}),
    ("gemma3", {"query_pre_attn_scalar": 16}),
] + [
    ("phi3", {"rope_parameters": {"rope_type": "longrope", "rope_theta": 10000.0, "original_max_position_embeddings": original,
                                  "short_factor": [1.0, 1.1, 1.3, 1.6, 2.0, 2.5, 3.1, 3.8],
                                  "long_factor": [1.0, 1.5, 2.5, 4.0, 6.0, 8.5, 11.0, 14.0]},
              "original_max_position_embeddings": original})
    for original in [32, 16]  # 24 tokens: the short factors, then the long ones
]
out = {"cases": []}
for family, overrides in CASES:
    source = os.path.join(here, "../tiny_gemma3") if family == "gemma3" else os.path.join(shared, "fixtures/tiny", family)
    ids = json.load(open(os.path.join(source, "reference.json")))["cases"][0]["ids"]
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copytree(source, tmp, dirs_exist_ok=True)
        config = json.load(open(os.path.join(source, "config.json")))
        config.update(overrides)
        json.dump(config, open(os.path.join(tmp, "config.json"), "w"), indent=1)
        losses = []
        # two implementations must agree; Gemma 2 (soft caps) has no sdpa and Gemma 3 is taken eager as its fixture: one run
        for attn in ["eager", "sdpa"] if family not in ("gemma2", "gemma3") else ["eager"]:
            model = AutoModelForCausalLM.from_pretrained(tmp, dtype=torch.float32, attn_implementation=attn)
            with torch.no_grad():
                losses.append(model(input_ids=torch.tensor([ids]), labels=torch.tensor([ids])).loss.item())
        assert abs(losses[0] - losses[-1]) < 1e-5, (family, overrides, losses)
        out["cases"].append({"family": family, "overrides": overrides, "ids": ids, "loss": losses[0]})
json.dump(out, open(os.path.join(here, "reference.json"), "w"), indent=1)
print([(c["family"], c["overrides"], c["loss"]) for c in out["cases"]])
