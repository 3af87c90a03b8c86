#!/usr/bin/env bash
# Stage dpo: Factory against TRL's DPOTrainer + PEFT, side by side in one sitting: SmolLM2-135M-Instruct
# (the pip package's GGUF, fp32), LoRA r 8 on every linear, sigmoid, 2 pairs × 512-token rows a step,
# 2 threads; pairs/s and peak RSS. The two run alternately FACTORY_BENCH_ROUNDS times (default 3) and the
# table holds each one's median. Two workloads: STEPS steps of new pairs (one epoch: every step computes
# its reference pass), and 3 epochs of 2 steps' pairs (LLaMA-Factory's default num_train_epochs: Factory
# keeps the reference values after the first epoch, TRL as LLaMA-Factory runs it computes them every time).
#   bench/dpo.sh [STEPS]
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
# Factory runs twice a round: with OpenBLAS's kernels as this environment sets them (some machines here set
# OPENBLAS_CORETYPE=Haswell and OPENBLAS_L2_SIZE, which older OpenBLAS builds need on some CPUs), and with
# both unset in that command alone, as on a fresh Debian machine, where factory itself asks for the SkylakeX
# kernels on a CPU with AVX-512 (BLASKernels). Each row names the kernels OpenBLAS ran. TRL's torch does
# not use OpenBLAS for its matmuls.
for _ in $(seq "$rounds"); do
  for workload in "$steps 1" "2 3"; do  # STEPS EPOCHS
    set -- $workload
    "$bin/factory-dpo-bench" ../shared 2 512 "$1" "$2" | sed "s/\"framework\":\"factory\"/\"framework\":\"factory (as set)\",\"epochs\":$2/" >> "$out"
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "$bin/factory-dpo-bench" ../shared 2 512 "$1" "$2" \
      | sed "s/\"framework\":\"factory\"/\"framework\":\"factory (unset)\",\"epochs\":$2/" >> "$out"
    "$venv/bin/python" bench/dpo_trl.py "$gguf" ../shared 2 512 "$1" "$2" 2>/dev/null | tail -1 | sed "s/\"framework\": \"trl\"/\"framework\": \"trl\", \"epochs\": $2/" >> "$out"
  done
done
echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); flags: $(grep -m1 flags /proc/cpuinfo | grep -o 'avx512[a-z_0-9]*\|avx2\|fma\|f16c' | sort -u | xargs)"
python3 - "$out" "$rounds" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
kernels = {r["framework"]: r.get("blas_kernels", "?") for r in rows}
print(f"medians of {sys.argv[2]} alternating rounds; OPENBLAS_CORETYPE as set: {kernels['factory (as set)']} kernels, "
      f"unset: {kernels['factory (unset)']} kernels")
for epochs, title in [(1, "one epoch of new pairs (every step computes its reference pass)"),
                      (3, "3 epochs of 2 steps' pairs, every step timed but the first")]:
    def median(framework, key): return statistics.median(r[key] for r in rows if r["framework"] == framework and r["epochs"] == epochs)
    print(f"\n{title}\n")
    print("| measure | Factory (as set) | Factory (unset) | TRL + PEFT | as set / TRL | unset / TRL |")
    print("|---|---|---|---|---|---|")
    for label, key, fmt in [("pairs/s", "pairs_per_second", "{:.3f}"), ("seconds per step", "seconds_per_step", "{:.2f}"),
                            ("peak RSS (MiB)", "peak_rss_mib", "{:.0f}"), ("first step (s, load included)", "first_step_seconds", "{:.1f}")]:
        a, u, b = median("factory (as set)", key), median("factory (unset)", key), median("trl", key)
        print(f"| {label} | {fmt.format(a)} | {fmt.format(u)} | {fmt.format(b)} | {a / b:.2f}x | {u / b:.2f}x |")
print("\nrounds:", [(r["framework"], r["epochs"], round(r["seconds_per_step"], 2)) for r in rows])
PY
