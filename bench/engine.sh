#!/usr/bin/env bash
# Engine benchmark: matmul through the engine vs raw cblas_sgemm, and the row
# ops on 4M elements, side by side with PyTorch when it is installed.
#   bench/engine.sh            (FACTORY_THREADS=2 by default)
set -euo pipefail
cd "$(dirname "$0")/.."
export FACTORY_THREADS=${FACTORY_THREADS:-2}
swift build -c release --product factory-engine-bench >/dev/null
bin=$(swift build -c release --show-bin-path)
"$bin/factory-engine-bench" > /tmp/factory-engine-bench.jsonl
if python3 -c "import torch" 2>/dev/null; then
  python3 bench/engine_torch.py > /tmp/factory-engine-torch.jsonl
else
  echo "(torch not installed: no PyTorch column)" >&2
  : > /tmp/factory-engine-torch.jsonl
fi
python3 - <<'PY'
import json
ours = [json.loads(l) for l in open("/tmp/factory-engine-bench.jsonl")]
torch = {d["op"]: d for d in map(json.loads, open("/tmp/factory-engine-torch.jsonl"))}
print(f"threads: {ours[0]['threads']}")
print("| op | shape | row kernels | Factory | raw sgemm | Factory / raw | PyTorch | Factory time / PyTorch time |")
print("|---|---|---|---|---|---|---|---|")
for d in ours:
    t = torch.get(d["op"])
    if "gflops" in d:
        ours_s, raw = f"{d['gflops']:.1f} GFLOP/s", f"{d['raw_sgemm_gflops']:.1f} GFLOP/s"
        ratio = f"{d['ratio_to_raw_sgemm']:.2f}"
        theirs = f"{t['gflops']:.1f} GFLOP/s" if t else "-"
    else:
        ours_s, raw, ratio = f"{d['ns_per_element']:.2f} ns/elem", "", ""
        theirs = f"{t['ns_per_element']:.2f} ns/elem" if t else "-"
    rel = f"{d['seconds'] / t['seconds']:.2f}" if t else "-"
    print(f"| {d['op']} | {d['shape']} | {d.get('kernels', '')} | {ours_s} | {raw} | {ratio} | {theirs} | {rel} |")
PY
