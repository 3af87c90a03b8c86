"""llama.cpp against the same measure as factory-int8-agreement (bench/int8_agreement.sh): on the same GGUF and
the same prompt ids, how often llama.cpp's greedy text equals Factory's with exact products and with 8-bit
inputs, and — teacher-forced along Factory's exact tokens — at how many steps llama.cpp's argmax differs and
how far its logits move the exact top-two margin.
Run: python3 bench/int8_agreement_llamacpp.py MODEL.gguf /tmp/factory-int8-agreement.json (2 threads)"""
import json, os, sys

from llama_cpp import Llama

model, report = sys.argv[1], json.load(open(sys.argv[2]))
threads = int(os.environ.get("FACTORY_THREADS", "2"))
runs = report["runs"]
longest = max(len(r["prompt_ids"]) + len(r["exact"]) for r in runs)
llm = Llama(model_path=model, n_ctx=longest + 8, n_batch=longest + 8, n_threads=threads, n_threads_batch=threads,
            verbose=False, logits_all=True)
same_exact = same_int8 = differs = steps = 0
margin_errors = []
for r in runs:
    prompt, exact = r["prompt_ids"], r["exact"]
    llm.reset()
    llm.eval(prompt)
    greedy = []
    for _ in range(len(exact)):
        token = int(llm.scores[llm.n_tokens - 1].argmax())
        greedy.append(token)
        llm.eval([token])
    same_exact += greedy == exact
    same_int8 += greedy == r["int8"]
    llm.reset()
    llm.eval(prompt + exact[:-1])  # teacher forcing: the logits after each prefix of Factory's exact text
    for t, token in enumerate(exact):
        steps += 1
        logits = llm.scores[len(prompt) - 1 + t]
        differs += int(logits.argmax()) != token
        a, b, margin = r["top_two"][t]
        margin_errors.append(abs(float(logits[int(a)] - logits[int(b)]) - margin))
margin_errors.sort()
quantile = lambda q: margin_errors[min(len(margin_errors) - 1, int(q * len(margin_errors)))]
print(f"greedy text identical to Factory's exact one in {same_exact} of {len(runs)}, to its 8-bit one in {same_int8};")
print(f"teacher-forced along Factory's exact tokens, llama.cpp's argmax differs at {differs} of {steps} steps;")
print(f"its error on the exact top-two margin: median {quantile(0.5):.4f}, p99 {quantile(0.99):.4f}, max {margin_errors[-1]:.4f}")
