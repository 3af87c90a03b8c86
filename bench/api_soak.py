"""Soak test of `factory api` (loopback only, bounded): N short greedy chat requests, one after another and 4 at a
time, with the server's RSS read from /proc every 100 requests; reports the RSS series and the request rate.
Usage: python api_soak.py BASE_URL MODEL SERVER_PID N"""
import json, sys, threading, time
import openai

base, model, pid, n = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
assert base.startswith("http://127.0.0.1:"), "loopback only"
def rss():
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS"): return int(line.split()[1]) // 1024
client = openai.OpenAI(base_url=base, api_key="none", max_retries=0, timeout=120)
series, done, lock = [(0, rss())], [0], threading.Lock()
def worker(count):
    for i in range(count):
        stream = i % 2 == 0
        r = client.chat.completions.create(model=model, messages=[{"role": "user", "content": f"Say a number: {i}"}], temperature=0, max_tokens=8, stream=stream)
        if stream:
            for _ in r: pass
        with lock:
            done[0] += 1
            if done[0] % 100 == 0: series.append((done[0], rss()))
start = time.time()
threads = [threading.Thread(target=worker, args=(n // 4,)) for _ in range(4)]
for t in threads: t.start()
for t in threads: t.join()
print(json.dumps({"requests": done[0], "seconds": round(time.time() - start, 1), "rss_mib": series}))
