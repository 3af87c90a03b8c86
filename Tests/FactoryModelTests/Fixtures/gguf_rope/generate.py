"""GGUF files that carry RoPE scaling as llama.cpp writes it, made from SHARED/fixtures/tiny/llama_gguf/tiny-llama-f32.gguf
(every key and tensor copied) plus:
- tiny-llama3-rope.gguf: Llama 3.1's scaling as convert_hf_to_gguf.py stores it, a `rope_freqs.weight` tensor of
  per-frequency divisors (factor 8, low_freq_factor 1, high_freq_factor 4, original_max_position_embeddings 64);
- tiny-yarn-rope.gguf: llama.rope.scaling.type yarn, factor 4, original_context_length 64;
- tiny-linear-rope.gguf: llama.rope.scaling.type linear, factor 2.
Each matches a case of ../config_variants (the same weights with that rope_parameters in config.json), whose
transformers loss is the reference. Run: python3 generate.py SHARED_DIR"""
import math, os, sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from gguf_fields import copy_fields  # noqa: E402
from gguf import GGUFReader, GGUFValueType, GGUFWriter

shared = sys.argv[1]
here = os.path.dirname(os.path.abspath(__file__))
source = GGUFReader(os.path.join(shared, "fixtures/tiny/llama_gguf/tiny-llama-f32.gguf"))


def llama3_factors(dim=16, base=10000.0, factor=8.0, low=1.0, high=4.0, original=64):
    """convert_hf_to_gguf.py's LlamaModel.generate_extra_tensors."""
    freqs = 1.0 / (base ** (np.arange(0, dim, 2, dtype=np.float32) / dim))
    low_wavelen, high_wavelen = original / low, original / high
    out = []
    for freq in freqs:
        wavelen = 2 * math.pi / freq
        if wavelen < high_wavelen:
            out.append(1)
        elif wavelen > low_wavelen:
            out.append(factor)
        else:
            smooth = (original / wavelen - low) / (high - low)
            out.append(1 / ((1 - smooth) / factor + smooth))
    return np.array(out, dtype=np.float32)


def copy(name, extra_keys, extra_tensors):
    w = GGUFWriter(os.path.join(here, name), arch="llama")
    copy_fields(source, w, lambda k: not k.startswith("GGUF.") and k != "general.architecture")
    for key, (value, vtype) in extra_keys.items():
        w.add_key_value(key, value, vtype)
    for t in source.tensors:
        w.add_tensor(t.name, np.array(t.data).reshape(list(reversed(t.shape.tolist()))))
    for tname, data in extra_tensors.items():
        w.add_tensor(tname, data)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


copy("tiny-llama3-rope.gguf", {}, {"rope_freqs.weight": llama3_factors()})
copy("tiny-yarn-rope.gguf", {"llama.rope.scaling.type": ("yarn", GGUFValueType.STRING),
                              "llama.rope.scaling.factor": (4.0, GGUFValueType.FLOAT32),
                              "llama.rope.scaling.original_context_length": (64, GGUFValueType.UINT32)}, {})
copy("tiny-linear-rope.gguf", {"llama.rope.scaling.type": ("linear", GGUFValueType.STRING),
                                "llama.rope.scaling.factor": (2.0, GGUFValueType.FLOAT32)}, {})
print("written")
