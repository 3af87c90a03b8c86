"""TRL's DPOTrainer + PEFT on the workload of factory-dpo-bench: SmolLM2-135M-Instruct from the pip
package's GGUF (fp32), LoRA r 8 on every linear, sigmoid loss, B pairs a step, each answer row T tokens
(a 32-token prompt, then T - 32 answer tokens; the same token ids as factory-dpo-bench cuts from
alpaca_en_demo, handed to TRL already tokenized), the reference = the base with the adapter switched
off (TRL's default for a PEFT model), no gradient checkpointing, N steps after one warm-up step.
Usage: python bench/dpo_trl.py GGUF SHARED_DIR [B] [T] [STEPS] [EPOCHS]   (in a venv with trl, see bench/dpo.sh)"""
import json, os, resource, sys, time

import torch
from datasets import Dataset
from peft import LoraConfig
from transformers import AutoModelForCausalLM, AutoTokenizer, TrainerCallback
from trl import DPOConfig, DPOTrainer

torch.set_num_threads(int(os.environ.get("FACTORY_THREADS", "2")))
gguf, shared = sys.argv[1:3]
B = int(sys.argv[3]) if len(sys.argv) > 3 else 2
T = int(sys.argv[4]) if len(sys.argv) > 4 else 512
steps = int(sys.argv[5]) if len(sys.argv) > 5 else 4
epochs = int(sys.argv[6]) if len(sys.argv) > 6 else 1  # > 1: B x STEPS pairs, trained EPOCHS times (TRL recomputes the reference each time)
prompt = 32

t0 = time.perf_counter()
directory, file = os.path.dirname(gguf), os.path.basename(gguf)
tokenizer = AutoTokenizer.from_pretrained(directory, gguf_file=file)
model = AutoModelForCausalLM.from_pretrained(directory, gguf_file=file, dtype=torch.float32)
rows = json.load(open(os.path.join(shared, "data/alpaca_en_demo.json")))
count = B * steps if epochs > 1 else B * (steps + 1)
stream = []
for row in rows:
    if len(stream) >= count * (2 * T - prompt):
        break
    stream += tokenizer.encode(row["instruction"] + "\n" + row["output"], add_special_tokens=False)
examples = []
for i in range(count):
    base = i * (2 * T - prompt)
    examples.append({"prompt_input_ids": stream[base:base + prompt], "chosen_input_ids": stream[base + prompt:base + T],
                     "rejected_input_ids": stream[base + T:base + 2 * T - prompt]})


class Tokenized(DPOTrainer):
    def _prepare_dataset(self, dataset, *args, **kwargs):  # already token ids: the same rows as Factory's
        return dataset


class Clock(TrainerCallback):
    def __init__(self):
        self.times, self.first, self.start = [], 0.0, 0.0

    def on_step_begin(self, args, state, control, **kwargs):
        self.start = time.perf_counter()

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step == 1:
            self.first = time.perf_counter() - t0
        else:
            self.times.append(time.perf_counter() - self.start)


config = DPOConfig(output_dir="/tmp/trl-dpo-bench", per_device_train_batch_size=B, max_steps=steps * epochs if epochs > 1 else steps + 1, learning_rate=5e-6,
                   beta=0.1, loss_type="sigmoid", max_length=None, max_prompt_length=None, max_completion_length=None,
                   gradient_checkpointing=False, use_cpu=True, report_to="none", logging_steps=1000, save_strategy="no",
                   dataloader_num_workers=0, remove_unused_columns=False)
clock = Clock()
trainer = Tokenized(model=model, args=config, train_dataset=Dataset.from_list(examples), processing_class=tokenizer,
                    peft_config=LoraConfig(r=8, lora_alpha=16, lora_dropout=0.0, target_modules="all-linear", task_type="CAUSAL_LM"),
                    callbacks=[clock])
trainer.train()
seconds = sum(clock.times) / len(clock.times)
print(json.dumps({"framework": "trl", "pairs_per_second": B / seconds, "seconds_per_step": seconds,
                  "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "first_step_seconds": clock.first}))
