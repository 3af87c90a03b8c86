#!/usr/bin/env bash
# The main job for a newcomer: install what is needed, build Factory (release),
# then run the demo: the plugins it found and the plan for fine-tuning
# SmolLM2-135M-Instruct with LoRA on the demo data.
# (Training and chat arrive with later work; until then the plan is a dry run.)
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
