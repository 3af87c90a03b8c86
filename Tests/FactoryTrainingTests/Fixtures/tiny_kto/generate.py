"""Reference for stage kto on ../../../../../shared/fixtures/tiny/llama with LoRA (PEFT) and TRL's kto_loss, as
LLaMA-Factory's CustomKTOTrainer runs it: three AdamW steps per case from the initial adapter of ../tiny_dpo.
  - examples: 6 deterministic (prompt, answer, kto_tag) id rows; each row's KL example is its prompt with the
    previous row's answer (the first takes the last's), as LLaMA-Factory's feedback processing rotates them;
    labels -100 on the prompt; a step is one micro-batch of 2 examples in order (tags T F, T T, F F: a batch
    without undesirable and one without desirable answers too), right-padded with 0.
  - policy: summed log-probabilities of the answers (with gradients) and of the KL examples (without);
    reference: both with the adapter switched off (PEFT's disable_adapter), without gradients; TRL's
    KTOTrainer.kto_loss (loss_type kto, calculate_KL) on them; LLaMA-Factory's nanmean, pref_ftx rescaled as
    it does (mean SFT loss of the desirable answers / their count × batch size); metrics as LLaMA-Factory
    logs one step: sums / counts, margins, kl.
  - torch.optim.AdamW(lr=1e-2, betas=(0.9, 0.999), eps=1e-8, weight_decay=0), clip_grad_norm_(1.0), constant lr.
Writes reference.json. Run in the venv of ../tiny_dpo: /tmp/trlvenv/bin/python generate.py SHARED_DIR"""
import json, os, sys, types

import torch
from peft import PeftModel
from transformers import AutoModelForCausalLM
from trl import KTOTrainer

torch.set_num_threads(1)
shared = sys.argv[1]
here = os.path.dirname(os.path.abspath(__file__))


def ids(seed, n):
    return [(seed * 53 + j * 29) % 500 + 3 for j in range(n)]


shapes = [(4, 6, True), (6, 3, False), (3, 8, True), (5, 5, True), (7, 4, False), (4, 7, False)]
rows = [(ids(10 * i + 4, p), ids(10 * i + 5, a), tag) for i, (p, a, tag) in enumerate(shapes)]
examples = []
for i, (prompt, answer, tag) in enumerate(rows):
    kl_answer = rows[i - 1][1]
    examples.append({"prompt": prompt, "answer": answer, "kl_answer": kl_answer, "tag": tag})


def padded(seqs):
    L = max(len(x) for x, _ in seqs)
    return (torch.tensor([x + [0] * (L - len(x)) for x, _ in seqs]), torch.tensor([y + [-100] * (L - len(y)) for _, y in seqs]),
            torch.tensor([[1] * len(x) + [0] * (L - len(x)) for x, _ in seqs]))


def batch_logps(model, seqs):
    input_ids, labels, mask = padded(seqs)
    logits = model(input_ids=input_ids, attention_mask=mask).logits.float()
    labels = labels[:, 1:].clone()
    logits = logits[:, :-1, :]
    m = labels != -100
    labels[labels == -100] = 0
    per_token = torch.gather(logits.log_softmax(-1), dim=2, index=labels.unsqueeze(2)).squeeze(2)
    return (per_token * m).sum(-1), m.sum(-1)


def kto_loss_fn(case):
    t = KTOTrainer.__new__(KTOTrainer)  # only kto_loss is used: its attributes set as KTOTrainer.__init__ would
    t.beta, t.desirable_weight, t.undesirable_weight = case["beta"], case["desirable_weight"], case["undesirable_weight"]
    t.calculate_KL, t.loss_type = True, "kto"
    t.accelerator = types.SimpleNamespace(device=torch.device("cpu"), gather_for_metrics=lambda x: x)
    return t.kto_loss


def run(case, steps=3):
    base = AutoModelForCausalLM.from_pretrained(os.path.join(shared, "fixtures/tiny/llama"), dtype=torch.float32)
    model = PeftModel.from_pretrained(base, os.path.join(here, "../tiny_dpo/initial"), is_trainable=True)
    model.train()
    kto_loss = kto_loss_fn(case)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=1e-2, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0)
    history = []
    for step in range(steps):
        batch = examples[2 * step:2 * step + 2]
        target = [(e["prompt"] + e["answer"], [-100] * len(e["prompt"]) + e["answer"]) for e in batch]
        kl = [(e["prompt"] + e["kl_answer"], [-100] * len(e["prompt"]) + e["kl_answer"]) for e in batch]
        tags = torch.tensor([e["tag"] for e in batch])
        logps, valid = batch_logps(model, target)
        with torch.no_grad():
            kl_logps, _ = batch_logps(model, kl)
            with model.disable_adapter():
                ref_logps, _ = batch_logps(model, target)
                ref_kl_logps, _ = batch_logps(model, kl)
        losses, chosen_rewards, rejected_rewards, kl_value = kto_loss(
            logps[tags], logps[~tags], kl_logps, ref_logps[tags], ref_logps[~tags], ref_kl_logps)
        loss = losses.nanmean()
        if case["ftx"] > 1e-6 and tags.sum() > 0:
            sft = -(logps / valid)[tags]
            loss = loss + case["ftx"] * sft.nanmean() / len(sft) * len(batch)
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        record = {"loss": loss.item(), "kl": kl_value.item()}
        for split, rewards, lp in [("chosen", chosen_rewards, logps[tags]), ("rejected", rejected_rewards, logps[~tags])]:
            if len(rewards) > 0:
                record[f"rewards/{split}"] = rewards.sum().item() / len(rewards)
                record[f"logps/{split}"] = lp.detach().sum().item() / len(rewards)
        if "rewards/chosen" in record and "rewards/rejected" in record:
            record["rewards/margins"] = record["rewards/chosen"] - record["rewards/rejected"]
        history.append(record)
    return history


cases = [{"name": "kto", "beta": 0.1, "desirable_weight": 1.0, "undesirable_weight": 1.0, "ftx": 0.0},
         {"name": "weighted_ftx", "beta": 0.5, "desirable_weight": 1.5, "undesirable_weight": 0.7, "ftx": 0.3}]
out = {"examples": examples, "cases": [dict(c, history=run(c)) for c in cases]}
with open(os.path.join(here, "reference.json"), "w") as f:
    json.dump(out, f, indent=1)
    f.write("\n")
for c in out["cases"]:
    print(c["name"], [(round(h["loss"], 5), round(h["kl"], 4)) for h in c["history"]])
