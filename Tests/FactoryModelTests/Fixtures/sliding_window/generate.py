"""Reference for sliding-window attention: tiny models of ../../../../../shared/fixtures/tiny with config
overrides that make a window bite (the fixtures' own sequences never reach theirs): transformers' loss
on the family's first sequence (labels = ids), eager and sdpa attention agreeing (Gemma 2: eager only). Writes reference.json.
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
]
out = {"cases": []}
for family, overrides in CASES:
    source = os.path.join(shared, "fixtures/tiny", family)
    ids = json.load(open(os.path.join(source, "reference.json")))["cases"][0]["ids"]
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copytree(source, tmp, dirs_exist_ok=True)
        config = json.load(open(os.path.join(source, "config.json")))
        config.update(overrides)
        json.dump(config, open(os.path.join(tmp, "config.json"), "w"), indent=1)
        losses = []
        for attn in ["eager", "sdpa"] if family != "gemma2" else ["eager", "eager"]:  # no sdpa for soft-capped Gemma 2
            model = AutoModelForCausalLM.from_pretrained(tmp, dtype=torch.float32, attn_implementation=attn)
            with torch.no_grad():
                losses.append(model(input_ids=torch.tensor([ids]), labels=torch.tensor([ids])).loss.item())
        assert abs(losses[0] - losses[1]) < 1e-5, (family, overrides, losses)
        out["cases"].append({"family": family, "overrides": overrides, "ids": ids, "loss": losses[0]})
json.dump(out, open(os.path.join(here, "reference.json"), "w"), indent=1)
print([(c["family"], c["overrides"], c["loss"]) for c in out["cases"]])
