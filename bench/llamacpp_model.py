"""llama.cpp (PyPI's llama-cpp-python, built from its source package) on the same GGUF and the same token
counts as factory-model-bench: prefill of N tokens (median of 3, a fresh context each), then greedy decode
of M tokens after an 8-token prompt. One JSON object per line, the fields factory-model-bench prints.
Run: python3 bench/llamacpp_model.py MODEL.gguf --prefill N --decode M   (2 threads unless FACTORY_THREADS)"""
import argparse, json, os, resource, time

from llama_cpp import Llama

p = argparse.ArgumentParser()
p.add_argument("model")
p.add_argument("--prefill", type=int, default=512)
p.add_argument("--decode", type=int, default=128)
a = p.parse_args()
threads = int(os.environ.get("FACTORY_THREADS", "2"))
rss = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
t0 = time.perf_counter()
llm = Llama(model_path=a.model, n_ctx=max(a.prefill, 8 + a.decode) + 8, n_threads=threads, n_threads_batch=threads,
            n_batch=max(a.prefill, 8 + a.decode, 64), verbose=False, logits_all=False)
print(json.dumps({"op": "load", "seconds": time.perf_counter() - t0, "peak_rss_mib": rss()}))
text = "The quick brown fox jumps over the lazy dog. " * 200
ids = llm.tokenize(text.encode(), add_bos=False)[: a.prefill]
samples = []
for _ in range(3):
    llm.reset()
    s = time.perf_counter()
    llm.eval(ids)
    samples.append(time.perf_counter() - s)
prefill = sorted(samples)[1]
print(json.dumps({"op": "prefill", "tokens": len(ids), "seconds": prefill, "tokens_per_second": len(ids) / prefill, "peak_rss_mib": rss()}))
llm.reset()
start = time.perf_counter()
llm.eval(ids[:8])
stamps = [time.perf_counter()]
token = int(llm.scores[llm.n_tokens - 1].argmax())
for _ in range(a.decode - 1):
    llm.eval([token])
    stamps.append(time.perf_counter())
    token = int(llm.scores[llm.n_tokens - 1].argmax())
decode = stamps[-1] - stamps[0]
print(json.dumps({"op": "decode", "tokens": len(stamps) - 1, "seconds": decode, "tokens_per_second": (len(stamps) - 1) / decode,
                  "first_token_seconds": stamps[0] - start, "peak_rss_mib": rss()}))
