#!/usr/bin/env bash
# Attention kernels: forward + backward of SmolLM2's attention shape (9 query heads over 3 kv heads,
# head size 64, causal) through the host's reference, the eager and the flash plugins, and PyTorch's
# scaled_dot_product_attention in the same script; best of N; 2 threads.   bench/attention.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export FACTORY_THREADS=${FACTORY_THREADS:-2}
swift build -c release --product factory-attention-bench >/dev/null
swift build -c release --product FactoryPluginAttentionEager --product FactoryPluginAttentionFlash >/dev/null 2>&1 || swift build -c release >/dev/null
bin=$(swift build -c release --show-bin-path)
for shape in "4 512 5" "1 2048 3" "1 4096 2"; do
  set -- $shape
  "$bin/factory-attention-bench" "$1" "$2" "$3"
  if python3 -c "import torch" 2>/dev/null; then python3 bench/attention_torch.py "$1" "$2" "$3" "$FACTORY_THREADS"; fi
done
