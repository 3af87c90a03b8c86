"""Reference for DoRA (LoRA with use_dora) on ../../../../../shared/fixtures/tiny/llama with PEFT:
4 AdamW steps on one fixed batch.
  - PEFT LoraConfig(r=4, lora_alpha=8, target_modules=[q_proj, v_proj], lora_dropout=0, use_dora=True);
    torch.manual_seed(0) before get_peft_model; then every lora_B is set to N(0, 0.05²) (seed 1) so the
    DoRA terms are not trivially zero at the start; the magnitude keeps PEFT's init (row norms of W).
    That adapter is saved to initial/ (PEFT's own save_pretrained).
  - batch: 3 rows of deterministic ids (lengths 20, 13, 7), right-padded with 0; labels = ids with the
    first 4 positions -100, -100 on padding; attention_mask 0 on padding
  - AdamW(lr=1e-2, betas=(0.9, 0.999), eps=1e-8, weight_decay=0), no clipping, constant learning rate
Writes reference.json (losses) and final/ (the adapter after 4 steps, save_pretrained).
Run: python3 generate.py SHARED_DIR"""
import json, os, sys

import torch
from peft import LoraConfig, get_peft_model
from transformers import AutoModelForCausalLM

torch.set_num_threads(1)
shared = sys.argv[1]
here = os.path.dirname(os.path.abspath(__file__))
model = AutoModelForCausalLM.from_pretrained(os.path.join(shared, "fixtures/tiny/llama"), dtype=torch.float32)
torch.manual_seed(0)
model = get_peft_model(model, LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"], lora_dropout=0.0, use_dora=True))
g = torch.Generator().manual_seed(1)
with torch.no_grad():
    for name, p in model.named_parameters():
        if "lora_B" in name:
            p.copy_(torch.randn(p.shape, generator=g) * 0.05)
model.save_pretrained(os.path.join(here, "initial"))
model.train()
lengths = [20, 13, 7]
rows = [[(i * 37 + j * 11) % 500 + 3 for j in range(n)] for i, n in enumerate(lengths)]
L = max(lengths)
ids = torch.tensor([r + [0] * (L - len(r)) for r in rows])
mask = torch.tensor([[1] * len(r) + [0] * (L - len(r)) for r in rows])
labels = torch.tensor([[-100] * 4 + r[4:] + [-100] * (L - len(r)) for r in rows])
params = [p for p in model.parameters() if p.requires_grad]
optimizer = torch.optim.AdamW(params, lr=1e-2, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0)
history = []
for step in range(4):
    loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
    loss.backward()
    optimizer.step()
    optimizer.zero_grad()
    history.append({"step": step + 1, "loss": loss.item()})
model.save_pretrained(os.path.join(here, "final"))
import peft
json.dump({"rows": rows, "labels_masked_prefix": 4, "pad_id": 0, "history": history,
           "versions": {"torch": torch.__version__, "peft": peft.__version__}}, open(os.path.join(here, "reference.json"), "w"), indent=1)
print(json.dumps(history))
