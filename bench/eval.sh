#!/usr/bin/env bash
# factory eval against transformers on the same prompts, side by side: SmolLM2 5-shot on examples/eval/minimmlu
# (40 questions), both 4 prompts per forward pass, 2 threads. Prints each side's questions/s and how many answers
# agree. Usage: bench/eval.sh [BATCH=4]. Release build required (swift build -c release).
set -euo pipefail
cd "$(dirname "$0")/.."
batch=${1:-4}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
grep -o 'avx512[a-z_0-9]*\|avx2\|fma\|f16c' /proc/cpuinfo | sort -u | tr '\n' ' '; echo
.build/release/factory eval examples/smollm2_eval.yaml threads=2 batch_size="$batch" save_dir="$dir/out" --prompts "$dir/prompts.jsonl" 2>&1 >/dev/null | grep -o "[0-9]* questions in .*" | sed "s/^/factory: /"
python3 Tests/CLITests/Scripts/eval_reference.py "$dir/prompts.jsonl" "$batch" 2>/dev/null | python3 -c "
import json, sys; r = json.load(sys.stdin)
print(f\"transformers: {r['questions_per_s']:.2f} questions/s; answers agreeing with Factory's: {r['agree']}/{r['questions']}; max |Δ choice logit| {r['max_logit_diff']:.2e}\")"
