"""The same operations as EngineBench in PyTorch (CPU, fp32), printed as JSON lines.
Run by bench/engine.sh; threads from FACTORY_THREADS (default 2)."""
import json
import os
import statistics
import time

import torch

threads = int(os.environ.get("FACTORY_THREADS", "2"))
torch.set_num_threads(threads)
torch.manual_seed(0)


def timed(fn, runs=9, warmup=2):
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples)


T, C, F = 2048, 576, 1536
x, w, g = torch.randn(T, C), torch.randn(F, C), torch.randn(T, F)
for name, shape, (M, N, K), fn in [
    ("matmul_forward", "[2048x576]·[576x1536]", (T, F, C), lambda: x @ w.t()),
    ("matmul_backward_input", "[2048x1536]·[1536x576]", (T, C, F), lambda: g @ w),
    ("matmul_backward_weight", "[1536x2048]·[2048x576]", (F, C, T), lambda: g.t() @ x),
]:
    s = timed(fn)
    print(json.dumps({"op": name, "shape": shape, "seconds": s, "gflops": 2 * M * N * K / s / 1e9, "threads": threads}))

rows, D = 4096, 1024
a, b, weight = torch.randn(rows, D), torch.randn(rows, D), torch.randn(D)
labels = torch.tensor([(i * 7919) % D for i in range(rows)])
rms = torch.nn.RMSNorm(D, eps=1e-5)
with torch.no_grad():
    rms.weight.copy_(weight)
ops = {
    "rms_norm": lambda a, b: rms(a),
    "silu_mul": lambda a, b: torch.nn.functional.silu(a) * b,
    "softmax": lambda a, b: torch.softmax(a, dim=-1),
    "cross_entropy": lambda a, b: torch.nn.functional.cross_entropy(a, labels),
}
with torch.no_grad():
    for name, op in ops.items():
        s = timed(lambda: op(a, b))
        print(json.dumps({"op": name, "shape": "[4096x1024]", "seconds": s, "ns_per_element": s / (rows * D) * 1e9, "threads": threads}))
for name, op in ops.items():
    xa, xb = a.clone().requires_grad_(), b.clone().requires_grad_()

    def run():
        y = op(xa, xb)
        y.backward(torch.ones_like(y))
        xa.grad = None
        xb.grad = None

    s = timed(run, runs=7)
    print(json.dumps({"op": name + "_forward_backward", "shape": "[4096x1024]", "seconds": s,
                      "ns_per_element": s / (rows * D) * 1e9, "threads": threads}))
