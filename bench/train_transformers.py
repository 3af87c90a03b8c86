"""transformers (+ PEFT) on the same training workload as factory-train-bench: SmolLM2-135M-Instruct
from the pip package's GGUF (fp32), batches of B x T tokens cut from alpaca_en_demo, every token
labelled, AdamW lr 1e-4, no gradient checkpointing, N steps after one warm-up step. PRECISION bf16 runs the
forward under torch.autocast(bfloat16) with fp32 weights and optimizer, as the Trainer does for `bf16: true` on CPU.
Usage: python3 bench/train_transformers.py GGUF SHARED_DIR METHOD(lora|full) TARGETS [B] [T] [STEPS] [PRECISION(fp32|bf16)]"""
import contextlib
import json, os, resource, sys, time

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

torch.set_num_threads(int(os.environ.get("FACTORY_THREADS", "2")))
gguf, shared, method, targets = sys.argv[1:5]
B = int(sys.argv[5]) if len(sys.argv) > 5 else 4
T = int(sys.argv[6]) if len(sys.argv) > 6 else 512
steps = int(sys.argv[7]) if len(sys.argv) > 7 else 5
precision = sys.argv[8] if len(sys.argv) > 8 else "fp32"
autocast = (lambda: torch.autocast("cpu", dtype=torch.bfloat16)) if precision == "bf16" else contextlib.nullcontext

t0 = time.perf_counter()
directory, file = os.path.dirname(gguf), os.path.basename(gguf)
tokenizer = AutoTokenizer.from_pretrained(directory, gguf_file=file)
model = AutoModelForCausalLM.from_pretrained(directory, gguf_file=file, dtype=torch.float32)
if method == "lora":
    from peft import LoraConfig, get_peft_model
    target = "all-linear" if targets == "all" else targets.split(",")
    model = get_peft_model(model, LoraConfig(r=8, lora_alpha=16, lora_dropout=0.0, target_modules=target, task_type="CAUSAL_LM"))
model.train()
rows = json.load(open(os.path.join(shared, "data/alpaca_en_demo.json")))
stream = []
for row in rows:
    if len(stream) >= B * T * (steps + 1):
        break
    stream += tokenizer.encode(row["instruction"] + "\n" + row["output"], add_special_tokens=False)
batches = [torch.tensor(stream[i * B * T:(i + 1) * B * T]).view(B, T) for i in range(steps + 1)]
optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)
times, first, losses = [], 0.0, []
for i, ids in enumerate(batches):
    start = time.perf_counter()
    with autocast():
        loss = model(input_ids=ids, labels=ids).loss
    loss.backward()
    losses.append(loss.item())
    optimizer.step()
    optimizer.zero_grad()
    if i == 0:
        first = time.perf_counter() - t0
    else:
        times.append(time.perf_counter() - start)
seconds = sum(times) / len(times)
trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
print(json.dumps({"framework": "transformers", "precision": precision, "method": method, "targets": targets, "tokens_per_second": B * T / seconds,
                  "seconds_per_step": seconds, "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "first_step_seconds": first, "trainable": trainable, "losses": losses}))
