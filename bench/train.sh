#!/usr/bin/env bash
# Training benchmark: SmolLM2-135M-Instruct, batch 4 x 512 tokens, fp32, 2 threads, through Factory
# (gradient checkpointing on, its default) and transformers + PEFT (no checkpointing), side by side,
# each configuration in its own process (peak RSS is per process).   bench/train.sh [STEPS]
set -euo pipefail
cd "$(dirname "$0")/.."
steps=${1:-4}
source bench/smollm2.sh factory-train-bench
out=/tmp/factory-train-bench.jsonl
: > "$out"
for config in "lora q_proj,v_proj" "lora all" "full all"; do
  set -- $config
  "$bin/factory-train-bench" ../shared "$1" "$2" 4 512 "$steps" >> "$out"
  if python3 -c "import torch, transformers, peft, gguf" 2>/dev/null; then
    python3 bench/train_transformers.py "$gguf" ../shared "$1" "$2" 4 512 "$steps" 2>/dev/null >> "$out"
  fi
done
python3 - "$out" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
peak_gflops = 240.0  # measured sgemm peak on 2 threads (bench/engine.sh)
print("| method | Factory tok/s | transformers tok/s | speed ratio | Factory peak RSS MiB | transformers peak RSS MiB | RSS ratio | Factory MFU | first step (s) F / T |")
print("|---|---|---|---|---|---|---|---|---|")
params = 134.5e6
for key in sorted({(r["method"], r["targets"]) for r in rows}, key=lambda k: (k[0] != "lora", k[1] != "q_proj,v_proj")):
    f = next((r for r in rows if r["framework"] == "factory" and (r["method"], r["targets"]) == key), None)
    t = next((r for r in rows if r["framework"] == "transformers" and (r["method"], r["targets"]) == key), None)
    # model FLOPs per token: forward 2N, backward 2N for activations (+2N for weights when the base trains)
    flops = (6 if key[0] == "full" else 4) * params
    mfu = f["tokens_per_second"] * flops / (peak_gflops * 1e9) if f else 0
    cell = lambda r, k, fmt: fmt.format(r[k]) if r else "-"
    ratio = lambda a, b, k: "{:.2f}x".format(a[k] / b[k]) if a and b else "-"
    print(f"| {key[0]} {key[1]} | {cell(f, 'tokens_per_second', '{:.0f}')} | {cell(t, 'tokens_per_second', '{:.0f}')} | {ratio(f, t, 'tokens_per_second')} | "
          f"{cell(f, 'peak_rss_mib', '{:.0f}')} | {cell(t, 'peak_rss_mib', '{:.0f}')} | {ratio(f, t, 'peak_rss_mib')} | {mfu * 100:.0f}% | "
          f"{cell(f, 'first_step_seconds', '{:.1f}')} / {cell(t, 'first_step_seconds', '{:.1f}')} |")
PY
