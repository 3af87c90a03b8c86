"""Reference for sliding-window attention: ../../../../../shared/fixtures/tiny/mistral with its config's
sliding_window set to 4 (the fixture itself has none), transformers' loss on the fixture's first
sequence (labels = ids), eager and sdpa attention agreeing. Writes reference.json.
Run: python3 generate.py SHARED_DIR"""
import json, os, shutil, sys, tempfile, warnings

import torch
from transformers import AutoModelForCausalLM

warnings.filterwarnings("ignore")
torch.set_num_threads(1)
shared = sys.argv[1]
here = os.path.dirname(os.path.abspath(__file__))
source = os.path.join(shared, "fixtures/tiny/mistral")
ids = json.load(open(os.path.join(source, "reference.json")))["cases"][0]["ids"]
out = {"ids": ids, "cases": []}
with tempfile.TemporaryDirectory() as tmp:
    shutil.copytree(source, tmp, dirs_exist_ok=True)
    for window in [None, 4, 9]:
        config = json.load(open(os.path.join(source, "config.json")))
        config["sliding_window"] = window
        json.dump(config, open(os.path.join(tmp, "config.json"), "w"), indent=1)
        losses = []
        for attn in ["eager", "sdpa"]:
            model = AutoModelForCausalLM.from_pretrained(tmp, dtype=torch.float32, attn_implementation=attn)
            with torch.no_grad():
                losses.append(model(input_ids=torch.tensor([ids]), labels=torch.tensor([ids])).loss.item())
        assert abs(losses[0] - losses[1]) < 1e-5, losses
        out["cases"].append({"sliding_window": window, "loss": losses[0]})
json.dump(out, open(os.path.join(here, "reference.json"), "w"), indent=1)
print(out["cases"])
