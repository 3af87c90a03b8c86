"""Reference for stage dpo on ../../../../../shared/fixtures/tiny/llama with LoRA (PEFT) and TRL's losses:
three AdamW steps of each case from the same initial adapter and pairs, and of full fine-tuning.
  - PEFT LoraConfig(r=8, lora_alpha=16, every linear but the head, lora_dropout=0); torch.manual_seed(0)
    before get_peft_model, then every lora_B set to N(0, 0.05^2) (seed 1), so the policy differs from the
    reference (the base with the adapter switched off, PEFT's disable_adapter) from the first step.
    Saved to initial/ (save_pretrained).
  - pairs: 6 deterministic (prompt, chosen, rejected) id rows; labels -100 on the prompt (LLaMA-Factory's
    pairwise encoding); a step is one micro-batch of 2 pairs in order, chosen rows then rejected,
    right-padded with 0 (labels -100, attention_mask 0), as LLaMA-Factory's collator pads them.
  - log-probabilities as LLaMA-Factory's get_batch_logps (labels shifted; per-token average for ipo,
    orpo, simpo; ld_alpha on the policy only); losses: TRL's DPOTrainer.dpo_loss for sigmoid (and cDPO
    label smoothing), hinge and ipo, called with loss_type set; LLaMA-Factory's odds_ratio_loss and
    simpo_loss for orpo and simpo (written here from its formulas); pref_ftx adds ftx * (-chosen logps
    averaged per token); the metrics as LLaMA-Factory's get_batch_loss_metrics.
  - case "full": every parameter of the base model trains (LLaMA-Factory's finetuning_type full) from the
    tiny model as saved, no adapter; the reference is a frozen copy of it (LLaMA-Factory's create_ref_model
    loads the model again); lr 1e-3.
  - torch.optim.AdamW(lr=1e-2 (full: 1e-3), betas=(0.9, 0.999), eps=1e-8, weight_decay=0), clip_grad_norm_(1.0),
    constant learning rate.
Writes reference.json. Run in a throwaway venv with TRL (LLaMA-Factory 0.9.5 pins trl <= 0.24):
  python3 -m venv --system-site-packages /tmp/trlvenv
  /tmp/trlvenv/bin/pip install trl==0.24.0 transformers==4.57.1 peft==0.18.1 datasets==4.4.1
  /tmp/trlvenv/bin/python generate.py SHARED_DIR"""
import contextlib, json, os, sys, types

import torch
import torch.nn.functional as F
import trl
from peft import LoraConfig, get_peft_model
from transformers import AutoModelForCausalLM
from trl import DPOTrainer
from trl.trainer.dpo_config import FDivergenceType

torch.set_num_threads(1)
shared = sys.argv[1]
here = os.path.dirname(os.path.abspath(__file__))
TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


def fresh_model():
    model = AutoModelForCausalLM.from_pretrained(os.path.join(shared, "fixtures/tiny/llama"), dtype=torch.float32)
    torch.manual_seed(0)
    model = get_peft_model(model, LoraConfig(r=8, lora_alpha=16, target_modules=TARGETS, lora_dropout=0.0))
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "lora_B" in name:
                p.copy_(torch.randn(p.shape, generator=g) * 0.05)
    return model


def ids(seed, n):
    return [(seed * 53 + j * 29) % 500 + 3 for j in range(n)]


# (prompt, chosen, rejected) lengths; ids are deterministic and distinct per pair
shapes = [(4, 6, 3), (6, 3, 7), (3, 8, 5), (5, 5, 5), (7, 4, 9), (4, 7, 2)]
pairs = [(ids(10 * i + 1, p), ids(10 * i + 2, c), ids(10 * i + 3, r)) for i, (p, c, r) in enumerate(shapes)]


def batch_of(step):
    chosen = [(p + c, [-100] * len(p) + c) for p, c, _ in pairs[2 * step:2 * step + 2]]
    rejected = [(p + r, [-100] * len(p) + r) for p, _, r in pairs[2 * step:2 * step + 2]]
    rows = chosen + rejected
    L = max(len(x) for x, _ in rows)
    input_ids = torch.tensor([x + [0] * (L - len(x)) for x, _ in rows])
    labels = torch.tensor([y + [-100] * (L - len(y)) for _, y in rows])
    mask = torch.tensor([[1] * len(x) + [0] * (L - len(x)) for x, _ in rows])
    return input_ids, labels, mask


def batch_logps(logits, labels, ld_alpha=None):
    """LLaMA-Factory's get_batch_logps: sum of log p(label) over labelled positions, and their count."""
    labels = labels[:, 1:].clone()
    logits = logits[:, :-1, :]
    loss_mask = labels != -100
    labels[labels == -100] = 0
    per_token = torch.gather(logits.log_softmax(-1), dim=2, index=labels.unsqueeze(2)).squeeze(2)
    valid = loss_mask.sum(-1)
    if ld_alpha is None:
        return (per_token * loss_mask).sum(-1), valid
    n = labels.shape[0] // 2
    shorter = torch.min(valid[:n], valid[n:])
    public = torch.argmax(loss_mask.int(), dim=1) + torch.cat([shorter, shorter], dim=0)
    position = torch.arange(labels.shape[-1]).expand_as(per_token)
    front = position < public.unsqueeze(1)
    return (per_token * (front * loss_mask)).sum(-1) + ld_alpha * (per_token * (~front * loss_mask)).sum(-1), valid


def trl_dpo_loss(case):
    t = DPOTrainer.__new__(DPOTrainer)  # only dpo_loss is used: its attributes set as DPOTrainer.__init__ would
    t.beta, t.label_smoothing, t.reference_free = case["beta"], case.get("label_smoothing", 0.0), False
    t.f_divergence_type, t.f_divergence_params = FDivergenceType.REVERSE_KL, {}
    t.accelerator = types.SimpleNamespace(device=torch.device("cpu"))
    t.loss_type = [case["loss"]]
    return lambda c, r, rc, rr: t.dpo_loss(c, r, rc, rr, loss_type=case["loss"])


def run(case, steps=3):
    full = case.get("full", False)
    if full:
        model = AutoModelForCausalLM.from_pretrained(os.path.join(shared, "fixtures/tiny/llama"), dtype=torch.float32)
        frozen = AutoModelForCausalLM.from_pretrained(os.path.join(shared, "fixtures/tiny/llama"), dtype=torch.float32).eval()
        frozen.requires_grad_(False)
    else:
        model = fresh_model()
    model.train()
    kind, beta = case["loss"], case["beta"]
    average = kind in ("ipo", "orpo", "simpo")
    dpo = trl_dpo_loss(case) if kind in ("sigmoid", "hinge", "ipo") else None
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=1e-3 if full else 1e-2, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0)
    history = []
    for step in range(steps):
        input_ids, labels, mask = batch_of(step)
        logits = model(input_ids=input_ids, attention_mask=mask).logits.float()
        logps, valid = batch_logps(logits, labels, case.get("ld_alpha"))
        if average:
            logps = logps / valid
        n = input_ids.shape[0] // 2
        c, r = logps[:n], logps[n:]
        chosen_avg = c if average else c / valid[:n]
        if dpo:
            with torch.no_grad(), (contextlib.nullcontext() if full else model.disable_adapter()):
                ref, _ = batch_logps((frozen if full else model)(input_ids=input_ids, attention_mask=mask).logits.float(), labels)
                if average:
                    ref = ref / valid
            losses, chosen_rewards, rejected_rewards = dpo(c, r, ref[:n], ref[n:])
        elif kind == "orpo":
            log_odds = (c - r) - (torch.log1p(-torch.exp(c)) - torch.log1p(-torch.exp(r)))
            losses = -c + beta * -F.logsigmoid(log_odds)
            chosen_rewards, rejected_rewards = beta * c.detach(), beta * r.detach()
        else:  # simpo
            losses = -F.logsigmoid(beta * ((c - r) - case["simpo_gamma"] / beta))
            chosen_rewards, rejected_rewards = beta * c.detach(), beta * r.detach()
        if case.get("ftx", 0) > 1e-6:
            losses = losses + case["ftx"] * -chosen_avg
        loss = losses.mean()
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        history.append({
            "loss": loss.item(),
            "rewards/chosen": chosen_rewards.mean().item(), "rewards/rejected": rejected_rewards.mean().item(),
            "rewards/accuracies": (chosen_rewards > rejected_rewards).float().mean().item(),
            "rewards/margins": (chosen_rewards - rejected_rewards).mean().item(),
            "logps/chosen": c.mean().item(), "logps/rejected": r.mean().item(),
        })
    return history


cases = [
    {"name": "sigmoid", "loss": "sigmoid", "beta": 0.1},
    {"name": "cdpo_ftx", "loss": "sigmoid", "beta": 0.1, "label_smoothing": 0.2, "ftx": 0.5},
    {"name": "ld_alpha", "loss": "sigmoid", "beta": 0.1, "ld_alpha": 0.5},
    {"name": "hinge", "loss": "hinge", "beta": 0.1},
    {"name": "ipo", "loss": "ipo", "beta": 0.1},
    {"name": "orpo", "loss": "orpo", "beta": 0.1},
    {"name": "simpo", "loss": "simpo", "beta": 2.0, "simpo_gamma": 0.5},
    {"name": "full", "loss": "sigmoid", "beta": 0.1, "full": True},
]
fresh_model().save_pretrained(os.path.join(here, "initial"))
out = {"trl": trl.__version__, "pairs": [{"prompt": p, "chosen": c, "rejected": r} for p, c, r in pairs], "cases": []}
for case in cases:
    out["cases"].append(dict(case, history=run(case)))
with open(os.path.join(here, "reference.json"), "w") as f:
    json.dump(out, f, indent=1)
    f.write("\n")
print("wrote", len(cases), "cases")
