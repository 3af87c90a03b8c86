#!/usr/bin/env bash
# Tokenizer speed: Factory's byte-level BPE vs Hugging Face tokenizers (Rust), one thread each,
# on the text of alpaca_en_demo.json.   bench/tokenizer.sh
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product factory-tokenizer-bench >/dev/null
bin=$(swift build -c release --show-bin-path)
echo "Factory:      $("$bin/factory-tokenizer-bench" ../shared/fixtures/smollm2/tokenizer/tokenizer.json ../shared/data/alpaca_en_demo.json)"
if python3 -c "import tokenizers" 2>/dev/null; then
  RAYON_NUM_THREADS=1 TOKENIZERS_PARALLELISM=false python3 - <<'PY'
import json, time, statistics
from tokenizers import Tokenizer
tok = Tokenizer.from_file("../shared/fixtures/smollm2/tokenizer/tokenizer.json")
rows = json.load(open("../shared/data/alpaca_en_demo.json"))
texts = [r[k] for r in rows for k in ("instruction", "input", "output") if r.get(k)]
size = sum(len(t.encode()) for t in texts)
def run():
    t0 = time.perf_counter()
    n = sum(len(tok.encode(t, add_special_tokens=False).ids) for t in texts)
    return time.perf_counter() - t0, n
cold, n = run()
warm = statistics.median(run()[0] for _ in range(5))
print("HF tokenizers:", json.dumps({"bytes": size, "tokens": n, "cold_mb_per_s": size / cold / 1e6, "warm_mb_per_s": size / warm / 1e6}))
PY
fi
