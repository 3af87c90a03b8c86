#!/usr/bin/env bash
# How often decoding SmolLM2 (the pip package's Q4_1 GGUF, the file's own blocks) with 8-bit inputs picks
# another greedy token than the exact products, and at what logit margins: 32 Alpaca demo prompts × 64
# tokens by default (bench/Int8Agreement/main.swift), and llama.cpp on the same file and prompt ids by the same measure
# (bench/int8_agreement_llamacpp.py). Usage: bench/int8_agreement.sh [--prompts N] [--tokens T]
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/smollm2.sh factory-int8-agreement
"$bin/factory-int8-agreement" "$gguf" ../shared/data/alpaca_en_demo.json "$@" 2>/dev/null > /tmp/factory-int8-agreement.json
python3 - <<'PY'
import json
d = json.load(open("/tmp/factory-int8-agreement.json"))
print(f"{d['prompts']} prompts x {d['tokens']} tokens: the greedy text is identical in {d['identical_texts']} of {d['prompts']};")
print(f"teacher-forced along the exact tokens, the 8-bit argmax differs at {d['argmax_differs']} of {d['steps']} steps;")
print(f"error the 8-bit inputs put on the exact top-two margin: median {d['margin_error_median']:.4f}, "
      f"p99 {d['margin_error_p99']:.4f}, max {d['margin_error_max']:.4f}")
for f in d["flips"]:
    print(f"  prompt {f['prompt']} step {f['step']}: the exact logits lead the 8-bit choice by {f['exact_margin']:.4f}"
          f" (top-two margin {f['top_two_margin']:.4f})")
PY
echo "llama.cpp (llama-cpp-python, same file, same prompt ids):"; python3 bench/int8_agreement_llamacpp.py "$gguf" /tmp/factory-int8-agreement.json
