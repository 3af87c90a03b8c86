#!/usr/bin/env bash
# The main job for a newcomer: install what is needed, build Factory (release),
# then run the demo: the plugins it found, the plan for fine-tuning
# SmolLM2-135M-Instruct with LoRA on the demo data, what that data turns into,
# and a short chat with the model. (Training arrives with later work; until then
# the plan is a dry run and the chat uses the base model.)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
echo "==> swift build -c release"
swift build -c release
bin=$(swift build -c release --show-bin-path)
echo "==> factory plugins list"
"$bin/factory" plugins list
echo "==> factory run examples/smollm2_lora_sft.yaml --dry-run"
"$bin/factory" run examples/smollm2_lora_sft.yaml --dry-run
echo "==> factory data check examples/smollm2_lora_sft.yaml"
"$bin/factory" data check examples/smollm2_lora_sft.yaml --samples 1
echo "==> factory chat (SmolLM2-135M-Instruct, greedy)"
printf 'What is the capital of France?\nexit\n' | "$bin/factory" chat examples/smollm2_lora_sft.yaml do_sample=false max_new_tokens=48
