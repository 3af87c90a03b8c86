#!/usr/bin/env bash
# A GGUF through Factory (factory-model-bench: the file's own blocks, as `factory generate` decodes) and
# through llama.cpp (llama-cpp-python built from its PyPI source package, bench/llamacpp_model.py), side by
# side, one sitting, 2 threads: load, prefill and decode tokens/s, peak RSS.
#   bench/llamacpp.sh [MODEL.gguf] [--prefill N] [--decode M]     (default: SmolLM2's Q4_1 GGUF, 512 and 128)
# The two run alternately FACTORY_BENCH_ROUNDS times (default 3) and the table shows each one's median,
# since this machine's speed drifts by ±15% within minutes. Installs llama-cpp-python (a ~10-minute
# source build) when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/smollm2.sh factory-model-bench
if [ $# -gt 0 ] && [ "${1#--}" = "$1" ]; then gguf=$1; shift; fi
python3 -c "import llama_cpp" 2>/dev/null || CMAKE_ARGS="-DGGML_NATIVE=ON" python3 -m pip install -q llama-cpp-python
args=("$@")
[[ " ${args[*]} " == *" --prefill "* ]] || args+=(--prefill 512)
[[ " ${args[*]} " == *" --decode "* ]] || args+=(--decode 128)
rounds=${FACTORY_BENCH_ROUNDS:-3}
rm -f /tmp/factory-llamacpp.jsonl /tmp/llamacpp-llamacpp.jsonl
for _ in $(seq "$rounds"); do
  "$bin/factory-model-bench" "$gguf" "${args[@]}" 2>/dev/null >> /tmp/factory-llamacpp.jsonl
  python3 bench/llamacpp_model.py "$gguf" "${args[@]}" >> /tmp/llamacpp-llamacpp.jsonl
done
echo "$(basename "$gguf"); CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); flags: $(grep -m1 flags /proc/cpuinfo | grep -o 'avx512[a-z_0-9]*\|avx2\|fma\|f16c' | sort -u | xargs)"
python3 - "$rounds" <<'PY'
import json, statistics, sys
def medians(path):
    runs = {}
    for d in map(json.loads, open(path)):
        runs.setdefault(d["op"], []).append(d)
    return lambda op, key: statistics.median(d[key] for d in runs[op])
ours, theirs = medians("/tmp/factory-llamacpp.jsonl"), medians("/tmp/llamacpp-llamacpp.jsonl")
print(f"medians of {sys.argv[1]} alternating rounds")
print("| measure | Factory | llama.cpp | Factory / llama.cpp |")
print("|---|---|---|---|")
for label, op, key, fmt in [("load (s)", "load", "seconds", "{:.2f}"), ("prefill tok/s", "prefill", "tokens_per_second", "{:.0f}"),
                            ("decode tok/s", "decode", "tokens_per_second", "{:.1f}"), ("peak RSS (MiB)", "decode", "peak_rss_mib", "{:.0f}")]:
    a, b = ours(op, key), theirs(op, key)
    print(f"| {label} | {fmt.format(a)} | {fmt.format(b)} | {a / b:.2f}x |")
PY
