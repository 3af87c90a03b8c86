"""transformers on the same model and workload as factory-model-bench (fp32, CPU):
load time, prefill of N tokens, greedy decode tokens/s, peak RSS. JSON lines.
Usage: python3 bench/model_transformers.py GGUF_PATH [--prefill N] [--decode N]"""
import json
import os
import resource
import statistics
import sys
import time

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

threads = int(os.environ.get("FACTORY_THREADS", "2"))
torch.set_num_threads(threads)
args = sys.argv[1:]


def option(name, default):
    if name in args:
        i = args.index(name)
        value = int(args[i + 1])
        del args[i:i + 2]
        return value
    return default


prefill_tokens, decode_tokens = option("--prefill", 512), option("--decode", 128)
path = args[0]
directory, file = os.path.dirname(path), os.path.basename(path)


def rss():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


t0 = time.perf_counter()
tokenizer = AutoTokenizer.from_pretrained(directory, gguf_file=file)
model = AutoModelForCausalLM.from_pretrained(directory, gguf_file=file, dtype=torch.float32).eval()
print(json.dumps({"op": "load", "seconds": time.perf_counter() - t0, "peak_rss_mib": rss()}))

text = "The quick brown fox jumps over the lazy dog. " * 200
ids = tokenizer(text, add_special_tokens=False, return_tensors="pt").input_ids[:, :prefill_tokens]
with torch.no_grad():
    samples = []
    for _ in range(3):
        s = time.perf_counter()
        model(ids)
        samples.append(time.perf_counter() - s)
    prefill = statistics.median(samples)
    print(json.dumps({"op": "prefill", "tokens": ids.shape[1], "seconds": prefill, "tokens_per_second": ids.shape[1] / prefill,
                      "peak_rss_mib": rss()}))
    prompt = ids[:, :8]
    s = time.perf_counter()
    out = model.generate(prompt, max_new_tokens=1, min_new_tokens=1, do_sample=False)
    first = time.perf_counter() - s
    s = time.perf_counter()
    out = model.generate(prompt, max_new_tokens=decode_tokens, min_new_tokens=decode_tokens, do_sample=False)
    total = time.perf_counter() - s
    decode = (total - first) / (decode_tokens - 1)
    print(json.dumps({"op": "decode", "tokens": decode_tokens - 1, "seconds": total - first, "tokens_per_second": 1 / decode,
                      "first_token_seconds": first, "peak_rss_mib": rss()}))
