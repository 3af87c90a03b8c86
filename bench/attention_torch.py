# PyTorch's side of bench/attention.sh: scaled_dot_product_attention (causal, GQA by
# repeat_interleave as transformers' sdpa path does), forward + backward, best of N.
import json, sys, time
import torch
torch.set_num_threads(int(sys.argv[4]) if len(sys.argv) > 4 else 2)
B, T, repeats = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
Hq, Hkv, D = 9, 3, 64
g = torch.Generator().manual_seed(1)
q = torch.rand(B, Hq, T, D, generator=g) * 2 - 1
k = torch.rand(B, Hkv, T, D, generator=g) * 2 - 1
v = torch.rand(B, Hkv, T, D, generator=g) * 2 - 1
dout = torch.rand(B, Hq, T, D, generator=g) * 2 - 1
flops = B * Hq * T * (T + 1) / 2 * D * 2 * 2 * 3
best = float("inf")
for _ in range(repeats):
    qq, kk, vv = (t.clone().requires_grad_() for t in (q, k, v))
    start = time.perf_counter()
    out = torch.nn.functional.scaled_dot_product_attention(qq, kk.repeat_interleave(Hq // Hkv, 1), vv.repeat_interleave(Hq // Hkv, 1), is_causal=True)
    out.backward(dout)
    best = min(best, time.perf_counter() - start)
print(json.dumps({"kernel": "torch sdpa", "B": B, "T": T, "seconds": round(best, 4), "gflops": round(flops / best / 1e9, 1)}))
