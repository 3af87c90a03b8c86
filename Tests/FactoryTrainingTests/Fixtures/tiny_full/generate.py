"""Reference for full fine-tuning of ../../../../../shared/fixtures/tiny/llama with transformers:
6 AdamW steps on one fixed batch, the trainer's rules spelled out in torch.
  - batch: 3 rows of deterministic ids (lengths 20, 13, 7), right-padded with 0; labels = ids with
    the first 4 positions of each row -100 (a "prompt"), -100 on padding; attention_mask 0 on padding
  - loss: transformers' causal-LM loss (shifted, mean over the labelled targets of the batch)
  - AdamW(lr=1e-2, betas=(0.9, 0.999), eps=1e-8), weight decay 0.01 except on biases and norm weights
  - clip_grad_norm_(1.0); get_linear_schedule_with_warmup(warmup=1, total=6), stepped after each update
Writes reference.json (losses, gradient norms, learning rates) and final.safetensors (every weight
after the 6 steps). Run: python3 generate.py SHARED_DIR"""
import json, os, sys

import torch
from safetensors.torch import save_file
from transformers import AutoModelForCausalLM, get_linear_schedule_with_warmup

torch.manual_seed(0)
torch.set_num_threads(1)
shared = sys.argv[1]
model = AutoModelForCausalLM.from_pretrained(os.path.join(shared, "fixtures/tiny/llama"), dtype=torch.float32)
model.train()
lengths = [20, 13, 7]
rows = [[(i * 37 + j * 11) % 500 + 3 for j in range(n)] for i, n in enumerate(lengths)]
L = max(lengths)
ids = torch.tensor([r + [0] * (L - len(r)) for r in rows])
mask = torch.tensor([[1] * len(r) + [0] * (L - len(r)) for r in rows])
labels = torch.tensor([[-100] * 4 + r[4:] + [-100] * (L - len(r)) for r in rows])
decay = [p for n, p in model.named_parameters() if not (n.endswith(".bias") or "norm" in n)]
no_decay = [p for n, p in model.named_parameters() if n.endswith(".bias") or "norm" in n]
optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01}, {"params": no_decay, "weight_decay": 0.0}],
                              lr=1e-2, betas=(0.9, 0.999), eps=1e-8)
scheduler = get_linear_schedule_with_warmup(optimizer, num_warmup_steps=1, num_training_steps=6)
history = []
for step in range(6):
    lr = optimizer.param_groups[0]["lr"]
    loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
    loss.backward()
    norm = torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()
    scheduler.step()
    optimizer.zero_grad()
    history.append({"step": step + 1, "loss": loss.item(), "grad_norm": norm.item(), "lr": lr})
here = os.path.dirname(os.path.abspath(__file__))
json.dump({"rows": rows, "labels_masked_prefix": 4, "pad_id": 0, "history": history,
           "versions": {"torch": torch.__version__}}, open(os.path.join(here, "reference.json"), "w"), indent=1)
save_file({n: p.detach().contiguous() for n, p in model.named_parameters()}, os.path.join(here, "final.safetensors"))
print(json.dumps(history))
