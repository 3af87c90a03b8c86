#!/usr/bin/env bash
# Installs the peers the tests compare Factory against, each only when it is missing: Go (its
# text/template renders the Ollama Modelfile an export writes, as Ollama does) from Debian, and from PyPI
# torch (the CPU wheel pip's find-links serves), transformers (with accelerate, which it needs to read a GGUF), safetensors, gguf, numpy,
# llama-cpp-python (built from its source package), nltk and rouge-chinese (LLaMA-Factory's predict
# metrics); and the official `openai` client in a throwaway virtual
# environment, .build/openai-venv (the API server's tests drive `factory api` with it). The tests that need
# one skip loudly without it; CI (.ci/run) runs this first so none is skipped there.
set -euo pipefail
cd "$(dirname "$0")/.."

sudo_if_needed() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

if ! command -v go >/dev/null; then
  echo "==> apt-get install golang-go (renders Ollama templates in the export tests)"
  sudo_if_needed apt-get update -qq
  DEBIAN_FRONTEND=noninteractive sudo_if_needed apt-get install -y -qq golang-go >/dev/null
fi

missing=()
for pair in torch:torch transformers:transformers accelerate:accelerate safetensors:safetensors gguf:gguf numpy:numpy llama_cpp:llama-cpp-python nltk:nltk rouge_chinese:rouge-chinese; do
  module=${pair%%:*} package=${pair#*:}
  python3 -c "import $module" >/dev/null 2>&1 || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "==> pip install ${missing[*]} (the tests' reference implementations)"
  python3 -m pip install -q "${missing[@]}"
fi

venv=.build/openai-venv
if ! "$venv/bin/python" -c "import openai" >/dev/null 2>&1; then
  echo "==> python3 -m venv $venv; pip install openai (the API server tests' client)"
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install -q openai
fi

# The web UI's tests drive `factory webui` in a real browser: Debian's chromium and chromium-driver (with a
# CJK font, so that the screenshots of the Chinese, Japanese and Korean page are readable), and Selenium from
# PyPI in a throwaway virtual environment, .build/selenium-venv.
if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null || [ ! -d /usr/share/fonts/truetype/wqy ]; then
  echo "==> apt-get install chromium chromium-driver fonts-wqy-zenhei (the web UI tests' browser)"
  sudo_if_needed apt-get update -qq
  DEBIAN_FRONTEND=noninteractive sudo_if_needed apt-get install -y -qq chromium chromium-driver fonts-wqy-zenhei >/dev/null
fi
venv=.build/selenium-venv
if ! "$venv/bin/python" -c "import selenium" >/dev/null 2>&1; then
  echo "==> python3 -m venv $venv; pip install selenium (the web UI tests' driver)"
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install -q selenium
fi
