#!/usr/bin/env bash
# Stage dpo: Factory against TRL's DPOTrainer + PEFT, side by side in one sitting: SmolLM2-135M-Instruct
# (the pip package's GGUF, fp32), LoRA r 8 on every linear, sigmoid, 2 pairs × 512-token rows a step,
# 2 threads; pairs/s and peak RSS. The two run alternately FACTORY_BENCH_ROUNDS times (default 3) and the
# table holds each one's median.   bench/dpo.sh [STEPS]
# TRL runs in a throwaway venv (/tmp/factory-trl-venv: trl 0.24, the newest LLaMA-Factory 0.9.5 allows,
# with the transformers/peft/datasets versions it needs), made here when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
steps=${1:-3}
rounds=${FACTORY_BENCH_ROUNDS:-3}
source bench/smollm2.sh factory-dpo-bench
venv=${FACTORY_TRL_VENV:-/tmp/factory-trl-venv}
if ! "$venv/bin/python" -c "import trl" 2>/dev/null; then
  python3 -m venv --system-site-packages "$venv"
  "$venv/bin/pip" install -q trl==0.24.0 transformers==4.57.1 peft==0.18.1 datasets==4.4.1
fi
out=/tmp/factory-dpo-bench.jsonl
: > "$out"
for _ in $(seq "$rounds"); do
  "$bin/factory-dpo-bench" ../shared 2 512 "$steps" >> "$out"
  "$venv/bin/python" bench/dpo_trl.py "$gguf" ../shared 2 512 "$steps" 2>/dev/null | tail -1 >> "$out"
done
echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); flags: $(grep -m1 flags /proc/cpuinfo | grep -o 'avx512[a-z_0-9]*\|avx2\|fma\|f16c' | sort -u | xargs)"
python3 - "$out" "$rounds" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
def median(framework, key): return statistics.median(r[key] for r in rows if r["framework"] == framework)
print(f"medians of {sys.argv[2]} alternating rounds")
print("| measure | Factory | TRL + PEFT | Factory / TRL |")
print("|---|---|---|---|")
for label, key, fmt in [("pairs/s", "pairs_per_second", "{:.3f}"), ("seconds per step", "seconds_per_step", "{:.2f}"),
                        ("peak RSS (MiB)", "peak_rss_mib", "{:.0f}"), ("first step (s, load included)", "first_step_seconds", "{:.1f}")]:
    a, b = median("factory", key), median("trl", key)
    print(f"| {label} | {fmt.format(a)} | {fmt.format(b)} | {a / b:.2f}x |")
print("rounds:", [(r["framework"], round(r["seconds_per_step"], 2)) for r in rows])
PY
