#!/usr/bin/env bash
# Decoding SmolLM2-135M-Instruct (the pip package's Q4_1 GGUF) from fp32 weights, from the file's own
# blocks (no quantizer: what `factory generate` does) and from each quantizer's packed weights (the LM head from
# the file's Q8_0 blocks, which a quantizer leaves alone): load,
# prefill, decode tokens/s and peak RSS.  bench/decode.sh [--decode N]
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/smollm2.sh factory-model-bench
echo "| weights | load (s) | prefill tok/s | decode tok/s | vs fp32 | peak RSS (MiB) | packed |"
echo "|---|---|---|---|---|---|---|"
fp32=""
for q in fp32 file q4_1 q4_0 q8_0 nf4 fp4 int8; do
  case $q in fp32) args=(--dense) ;; file) args=() ;; *) args=(--quantizer "$q") ;; esac
  "$bin/factory-model-bench" "$gguf" "${args[@]}" "$@" 2>/dev/null > /tmp/factory-decode-$q.jsonl
  line=$(FP32="$fp32" python3 - "$q" <<'PY'
import json, os, sys
d = {x["op"]: x for x in map(json.loads, open(f"/tmp/factory-decode-{sys.argv[1]}.jsonl"))}
tps = d["decode"]["tokens_per_second"]
base = float(os.environ["FP32"]) if os.environ.get("FP32") else tps
packed = d["load"]["packed"].split("packed: ")[-1] if "packed: " in d["load"]["packed"] else "-"
blocks = d["load"].get("file_blocks", "none")
if blocks != "none":
    blocks = blocks.replace("decoding multiplies ", "")
    packed = blocks if sys.argv[1] == "file" else packed + "; LM head " + blocks.split(":")[0].replace("1 weights ", "")
print(f'{tps:.1f}|| {sys.argv[1]} | {d["load"]["seconds"]:.2f} | {d["prefill"]["tokens_per_second"]:.0f} | {tps:.1f} | {tps / base:.2f}x | {d["decode"]["peak_rss_mib"]:.0f} | {packed} |')
PY
)
  [ "$q" = fp32 ] && fp32=${line%%||*}
  echo "|${line#*||}"
done
