#!/usr/bin/env bash
# Model benchmark: SmolLM2-135M-Instruct (the pip package's Q4_1 GGUF, dequantised to fp32)
# through Factory and through transformers, side by side.  bench/model.sh [--decode N]
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/smollm2.sh factory-model-bench
"$bin/factory-model-bench" "$gguf" "$@" > /tmp/factory-model.jsonl
if python3 -c "import torch, transformers, gguf" 2>/dev/null; then
  python3 bench/model_transformers.py "$gguf" "$@" > /tmp/transformers-model.jsonl 2>/dev/null
else
  echo "(torch/transformers/gguf not installed: no transformers column)" >&2
  : > /tmp/transformers-model.jsonl
fi
python3 - <<'PY'
import json
ours = {d["op"]: d for d in map(json.loads, open("/tmp/factory-model.jsonl"))}
theirs = {d["op"]: d for d in map(json.loads, open("/tmp/transformers-model.jsonl"))}
def cell(d, key, fmt):
    return fmt.format(d[key]) if d and key in d else "-"
print("| measure | Factory | transformers | ratio |")
print("|---|---|---|---|")
rows = [("load (s)", "load", "seconds", "{:.2f}", False), ("prefill tok/s", "prefill", "tokens_per_second", "{:.0f}", True),
        ("decode tok/s", "decode", "tokens_per_second", "{:.1f}", True), ("first token after load (s)", "decode", "first_token_seconds", "{:.3f}", False),
        ("peak RSS (MiB)", "decode", "peak_rss_mib", "{:.0f}", False)]
for label, op, key, fmt, higher in rows:
    a, b = ours.get(op), theirs.get(op)
    ratio = "-"
    if a and b and key in a and key in b and b[key]:
        ratio = "{:.2f}x".format(a[key] / b[key])
    print(f"| {label} | {cell(a, key, fmt)} | {cell(b, key, fmt)} | {ratio} |")
PY
