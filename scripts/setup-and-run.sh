#!/usr/bin/env bash
# The main job for a newcomer: install what is needed, build Factory (release), fine-tune
# SmolLM2-135M-Instruct with LoRA on the demo data (examples/smollm2_lora_sft.yaml: an identity
# set that names the model "Factory Assistant" and a small instruction set), then chat with the
# result: the same question to the base model and to the fine-tuned one.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
echo "==> swift build -c release"
swift build -c release
bin=$(swift build -c release --show-bin-path)
echo "==> factory plugins list"
"$bin/factory" plugins list
echo "==> factory data check examples/smollm2_lora_sft.yaml"
"$bin/factory" data check examples/smollm2_lora_sft.yaml --samples 1
echo "==> factory run examples/smollm2_lora_sft.yaml"
"$bin/factory" run examples/smollm2_lora_sft.yaml
adapter=saves/smollm2-135m/lora/sft
echo "==> factory chat, base model (greedy)"
printf 'Who are you?\nexit\n' | "$bin/factory" chat examples/smollm2_lora_sft.yaml do_sample=false max_new_tokens=48
echo "==> factory chat, with the LoRA adapter in $adapter (greedy)"
printf 'Who are you?\nWhat is the capital of France?\nexit\n' | \
  "$bin/factory" chat examples/smollm2_lora_sft.yaml adapter_name_or_path=$adapter do_sample=false max_new_tokens=48
