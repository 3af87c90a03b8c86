#!/usr/bin/env bash
# Preprocessing speed: alpaca_en_demo (999 rows) for SFT with the smollm2 template and the
# SmolLM2 tokenizer, through `factory data check` (release build). LLaMA-Factory's own
# preprocessing runs beside it when the llamafactory package is installed.   bench/data.sh
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product factory >/dev/null
bin=$(swift build -c release --show-bin-path)
# best of 3, as the LLaMA-Factory side reports
for run in 1 2 3; do
  "$bin/factory" data check --model HuggingFaceTB/SmolLM2-135M-Instruct template=smollm2 dataset=alpaca_en_demo \
    dataset_dir=../shared/data cutoff_len=1024 --samples 0 | sed -n 2p
done | sort -t' ' -k14 | head -1
# LLaMA-Factory beside it: `pip install --no-deps llamafactory==0.9.5 trl==0.24.0` plus
# datasets and omegaconf (its torchaudio import is stubbed by the script).
if python3 -c "import llamafactory" 2>/dev/null; then
  python3 bench/data_llamafactory.py ../shared 2>/dev/null | tail -1
else
  echo "(llamafactory not installed: no side-by-side number)"
fi
