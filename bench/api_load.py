"""Load test of an OpenAI-compatible server (loopback only, bounded in requests and time): for each level of
concurrent streaming clients, a fixed number of greedy chat requests; reports aggregate completion tokens/s,
p50/p95 time to first token, p50 inter-token latency, and the greedy answers (to compare servers and levels).
Usage: python api_load.py BASE_URL MODEL LEVELS(1,4,8) REQUESTS_PER_CLIENT MAX_TOKENS [API_KEY]"""
import json, statistics, sys, threading, time
import openai

base, model, levels, per_client, max_tokens = sys.argv[1], sys.argv[2], [int(x) for x in sys.argv[3].split(",")], int(sys.argv[4]), int(sys.argv[5])
key = sys.argv[6] if len(sys.argv) > 6 else "none"
assert base.startswith("http://127.0.0.1:") or base.startswith("http://localhost:"), "loopback only"
questions = ["Who are you?", "What is the capital of France?", "Name three colors.", "How do plants make food?",
             "Write a haiku about the sea.", "What is 12 times 12?", "Give one tip for sleeping well.", "What is Swift?"]

def one(client, question, record):
    start = time.perf_counter(); first = None; last = None; gaps = []; pieces = []; tokens = 0
    stream = client.chat.completions.create(model=model, messages=[{"role": "user", "content": question}], temperature=0,
                                            max_tokens=max_tokens, stream=True, stream_options={"include_usage": True})
    for chunk in stream:
        now = time.perf_counter()
        if chunk.usage: tokens = chunk.usage.completion_tokens
        for c in chunk.choices:
            if c.delta.content:
                if first is None: first = now - start
                elif last is not None: gaps.append(now - last)
                last = now
                pieces.append(c.delta.content)
    record.append({"question": question, "ttft": first or 0, "gaps": gaps, "tokens": tokens or len(pieces), "text": "".join(pieces)})

results = {}
for level in levels:
    record = []
    def client_loop(i):
        client = openai.OpenAI(base_url=base, api_key=key, max_retries=0, timeout=600)
        for r in range(per_client): one(client, questions[(i + r) % len(questions)], record)
    threads = [threading.Thread(target=client_loop, args=(i,)) for i in range(level)]
    t0 = time.perf_counter()
    for t in threads: t.start()
    for t in threads: t.join()
    wall = time.perf_counter() - t0
    ttfts = sorted(r["ttft"] for r in record); gaps = sorted(g for r in record for g in r["gaps"])
    results[level] = {"requests": len(record), "seconds": round(wall, 2), "tokens_per_s": round(sum(r["tokens"] for r in record) / wall, 1),
                      "ttft_p50": round(statistics.median(ttfts), 3), "ttft_p95": round(ttfts[min(len(ttfts) - 1, int(0.95 * len(ttfts)))], 3),
                      "itl_p50": round(statistics.median(gaps), 4) if gaps else None,
                      "answers": {r["question"]: r["text"] for r in record}}
print(json.dumps(results))
