"""Random blocks of every ggml type Factory reads beyond the shared fixtures (Q5_0, Q5_1 and the K-quants),
dequantized by gguf-py (gguf.quants.dequantize, a numpy port of ggml's dequantize_row_*; Q8_K, which gguf-py
lacks, as ggml's one-line dequantize_row_q8_K). Each block is
random bytes except its fp16 scales (d, dmin, m), drawn finite, so every bit pattern of the quants and
6-bit scales occurs. Writes <type>.blocks.u8.bin (16 blocks) and <type>.dequant.f32.bin.
Run: python3 generate.py"""
import os

import numpy as np
from gguf import GGMLQuantizationType as T
from gguf.quants import dequantize

here = os.path.dirname(os.path.abspath(__file__))
rng = np.random.default_rng(20261206)
# (type, bytes per block, byte offsets of fp16 scales)
TYPES = [(T.Q5_0, 22, [0]), (T.Q5_1, 24, [0, 2]), (T.Q2_K, 84, [80, 82]), (T.Q3_K, 110, [108]),
         (T.Q4_K, 144, [0, 2]), (T.Q5_K, 176, [0, 2]), (T.Q6_K, 210, [208]), (T.Q8_K, 292, [])]
for qtype, size, halves in TYPES:
    blocks = rng.integers(0, 256, size=(16, size), dtype=np.uint8)
    for offset in halves:
        blocks[:, offset:offset + 2] = rng.uniform(-2, 2, size=16).astype(np.float16).view(np.uint8).reshape(16, 2)
    if qtype == T.Q8_K:  # d is an fp32
        blocks[:, 0:4] = rng.uniform(-0.1, 0.1, size=16).astype(np.float32).view(np.uint8).reshape(16, 4)
    if qtype == T.Q8_K:  # gguf-py has none (llama.cpp never stores Q8_K): ggml's dequantize_row_q8_K, d · q in fp32
        values = blocks[:, 0:4].copy().view(np.float32) * blocks[:, 4:260].view(np.int8).astype(np.float32)
    else:
        values = dequantize(blocks, qtype).astype(np.float32)
    assert np.isfinite(values).all()
    name = qtype.name.lower()
    blocks.tofile(os.path.join(here, f"{name}.blocks.u8.bin"))
    values.tofile(os.path.join(here, f"{name}.dequant.f32.bin"))
    print(name, values.shape)
