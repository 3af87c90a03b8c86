"""ggml's own reference quantizers on the shared quantization input (SHARED/fixtures/quant/input.f32.bin, [256, 256]
with edge-case rows): ggml-quants.c from llama.cpp (as vendored by PyPI's llama-cpp-python source package)
compiled with cc -O2 -ffp-contract=off, called through ctypes: quantize_row_<type>_ref for Q5_0, Q5_1, Q2_K, Q3_K, Q4_K, Q5_K
and Q6_K (what llama-quantize runs without an importance matrix). Writes <type>.packed.u8.bin.
Run: python3 generate_packed.py SHARED_DIR LLAMA_CPP_DIR   (LLAMA_CPP_DIR: .../vendor/llama.cpp)"""
import ctypes, os, subprocess, sys, tempfile

import numpy as np

shared, llama = sys.argv[1], sys.argv[2]
here = os.path.dirname(os.path.abspath(__file__))
ggml = os.path.join(llama, "ggml")
with tempfile.TemporaryDirectory() as tmp:
    stubs = os.path.join(tmp, "stubs.c")  # the few ggml symbols ggml-quants.c links to outside the reference code
    open(stubs, "w").write("#include <stdlib.h>\n#include <stddef.h>\nvoid ggml_abort(const char *f, int l, const char *m, ...) { abort(); }\n"
                           "size_t ggml_row_size(int t, long n) { return 0; }\nconst char *ggml_type_name(int t) { return \"\"; }\n"
                           "size_t ggml_type_size(int t) { return 0; }\n")
    lib = os.path.join(tmp, "libggmlquants.so")
    subprocess.check_call(["cc", "-O2", "-ffp-contract=off", "-shared", "-fPIC", "-I", f"{ggml}/include", "-I", f"{ggml}/src",
                           f"{ggml}/src/ggml-quants.c", stubs, "-o", lib, "-lm"])
    c = ctypes.CDLL(lib)
    x = np.fromfile(os.path.join(shared, "fixtures/quant/input.f32.bin"), dtype=np.float32)
    assert x.size == 256 * 256
    for name, block_bytes, block_values in [("q5_0", 22, 32), ("q5_1", 24, 32), ("q2_k", 84, 256), ("q3_k", 110, 256), ("q4_k", 144, 256),
                                            ("q5_k", 176, 256), ("q6_k", 210, 256)]:
        out = np.zeros(x.size // block_values * block_bytes, dtype=np.uint8)
        fn = getattr(c, f"quantize_row_{name.replace('_k', '_K')}_ref")
        fn(x.ctypes.data_as(ctypes.c_void_p), out.ctypes.data_as(ctypes.c_void_p), ctypes.c_int64(x.size))
        out.tofile(os.path.join(here, f"{name}.packed.u8.bin"))
        print(name, out.size, "bytes")
