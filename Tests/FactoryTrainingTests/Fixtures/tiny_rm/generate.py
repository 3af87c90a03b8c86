"""Reference for stage rm on ../../../../../shared/fixtures/tiny/llama with LoRA (PEFT) and TRL's value head,
as LLaMA-Factory builds a reward model: three AdamW steps from one initial adapter and value head.
  - PEFT LoraConfig(r=8, lora_alpha=16, every linear but the head, lora_dropout=0, task_type CAUSAL_LM as
    LLaMA-Factory sets it); torch.manual_seed(0)
    before get_peft_model, then every lora_B set to N(0, 0.05^2) (seed 1); then TRL's
    AutoModelForCausalLMWithValueHead.from_pretrained(peft model, summary_dropout_prob=0) (LLaMA-Factory
    keeps TRL's dropout 0.1; 0 here so the numbers are deterministic), its v_head as torch initialises
    nn.Linear after torch.manual_seed(2). Adapter and value_head.safetensors saved to initial/.
  - the pairs of ../tiny_dpo (generate.py there): a step is one micro-batch of 2 pairs in order, chosen
    rows then rejected, right-padded with 0, attention_mask 0 on padding.
  - LLaMA-Factory's PairwiseTrainer.compute_loss: values at each row's last real token (attention_mask
    sum - 1), loss = -logsigmoid(chosen - rejected).mean().
  - torch.optim.AdamW(lr=1e-2, betas=(0.9, 0.999), eps=1e-8, weight_decay=0) over the LoRA tensors and the
    value head, clip_grad_norm_(1.0), constant learning rate.
Writes reference.json (per step: loss, accuracy; the final value head). Run in the venv of ../tiny_dpo:
  /tmp/trlvenv/bin/python generate.py SHARED_DIR"""
import json, os, sys

import torch
import torch.nn.functional as F
from peft import LoraConfig, get_peft_model
from safetensors.torch import save_file
from transformers import AutoModelForCausalLM
from trl import AutoModelForCausalLMWithValueHead

torch.set_num_threads(1)
shared = sys.argv[1]
here = os.path.dirname(os.path.abspath(__file__))
TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
pairs = json.load(open(os.path.join(here, "../tiny_dpo/reference.json")))["pairs"]

base = AutoModelForCausalLM.from_pretrained(os.path.join(shared, "fixtures/tiny/llama"), dtype=torch.float32)
torch.manual_seed(0)
peft_model = get_peft_model(base, LoraConfig(r=8, lora_alpha=16, target_modules=TARGETS, lora_dropout=0.0, task_type="CAUSAL_LM"))
g = torch.Generator().manual_seed(1)
with torch.no_grad():
    for name, p in peft_model.named_parameters():
        if "lora_B" in name:
            p.copy_(torch.randn(p.shape, generator=g) * 0.05)
peft_model.save_pretrained(os.path.join(here, "initial"))
torch.manual_seed(2)
model = AutoModelForCausalLMWithValueHead.from_pretrained(peft_model, summary_dropout_prob=0.0)
torch.manual_seed(2)
model.v_head.summary.reset_parameters()  # nn.Linear's own initialisation, from a known seed


def v_head_state():
    return {"v_head.summary.weight": model.v_head.summary.weight.detach().clone().contiguous(),
            "v_head.summary.bias": model.v_head.summary.bias.detach().clone().contiguous()}


save_file(v_head_state(), os.path.join(here, "initial/value_head.safetensors"), metadata={"format": "pt"})
model.train()
params = [p for p in model.parameters() if p.requires_grad]
optimizer = torch.optim.AdamW(params, lr=1e-2, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0)
history = []
for step in range(3):
    chosen = [p["prompt"] + p["chosen"] for p in pairs[2 * step:2 * step + 2]]
    rejected = [p["prompt"] + p["rejected"] for p in pairs[2 * step:2 * step + 2]]
    rows = chosen + rejected
    L = max(len(r) for r in rows)
    input_ids = torch.tensor([r + [0] * (L - len(r)) for r in rows])
    mask = torch.tensor([[1] * len(r) + [0] * (L - len(r)) for r in rows])
    _, _, values = model(input_ids=input_ids, attention_mask=mask, output_hidden_states=True, return_dict=True, use_cache=False)
    n = input_ids.size(0) // 2
    chosen_masks, rejected_masks = torch.split(mask, n, dim=0)
    chosen_rewards, rejected_rewards = torch.split(values, n, dim=0)
    chosen_scores = chosen_rewards.gather(dim=-1, index=(chosen_masks.sum(dim=-1, keepdim=True) - 1)).squeeze()
    rejected_scores = rejected_rewards.gather(dim=-1, index=(rejected_masks.sum(dim=-1, keepdim=True) - 1)).squeeze()
    loss = -F.logsigmoid(chosen_scores.float() - rejected_scores.float()).mean()
    optimizer.zero_grad()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(params, 1.0)
    optimizer.step()
    history.append({"loss": loss.item(), "accuracy": (chosen_scores > rejected_scores).float().mean().item()})
final = v_head_state()
out = {"history": history, "final_v_head": {k: v.flatten().tolist() for k, v in final.items()}}
with open(os.path.join(here, "reference.json"), "w") as f:
    json.dump(out, f, indent=1)
    f.write("\n")
print("losses", [round(h["loss"], 6) for h in history])
