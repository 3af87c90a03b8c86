"""The tiny models of SHARED/fixtures/tiny (and ../tiny_gemma3) written as GGUF the way llama.cpp's
convert_hf_to_gguf.py writes them: tensor names from gguf-py's own TensorNameMap for the architecture,
Gemma's norm weights stored + 1, no q/k permutation (these architectures have none), the converter's
hyper-parameter keys (soft caps and sliding window for Gemma 2 and 3, RoPE dimensions for Phi-3, Gemma 3's
linear RoPE scaling and local base, and its layers' sliding pattern as the per-layer array llama.cpp reads), the tokenizer keys copied from SHARED/fixtures/tiny/llama_gguf/tiny-llama-f32.gguf (the same
tokenizer), every tensor F32. Each file must score as its safetensors directory does (the same weights, the
same references; Gemma 2 and 3 as transformers scores them with query_pre_attn_scalar = head_dim, which is what
llama.cpp assumes, see ../config_variants; tiny-phi3-longrope.gguf carries LongRoPE as Phi3MiniModel writes it,
rope_factors_long/short tensors and rope.scaling.* keys, scored against the config_variants case). Run: python3 generate.py SHARED_DIR"""
import json, os, sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from gguf_fields import copy_fields  # noqa: E402
from gguf import GGUFReader, GGUFValueType, GGUFWriter, MODEL_ARCH, get_tensor_name_map
from safetensors.numpy import load_file

shared = sys.argv[1]
here = os.path.dirname(os.path.abspath(__file__))
tokenizer = GGUFReader(os.path.join(shared, "fixtures/tiny/llama_gguf/tiny-llama-f32.gguf"))
FAMILIES = {
    "qwen2": (MODEL_ARCH.QWEN2, os.path.join(shared, "fixtures/tiny/qwen2")),
    "qwen3": (MODEL_ARCH.QWEN3, os.path.join(shared, "fixtures/tiny/qwen3")),
    "gemma": (MODEL_ARCH.GEMMA, os.path.join(shared, "fixtures/tiny/gemma")),
    "gemma2": (MODEL_ARCH.GEMMA2, os.path.join(shared, "fixtures/tiny/gemma2")),
    "gemma3": (MODEL_ARCH.GEMMA3, os.path.join(here, "../tiny_gemma3")),
    "phi3": (MODEL_ARCH.PHI3, os.path.join(shared, "fixtures/tiny/phi3")),
}

# Phi-3 with LongRoPE as Phi3MiniModel writes it (rope_factors_long/short tensors, rope.scaling.* keys), from the
# same weights with the rope_parameters of the config_variants case whose original length is 16 (24 tokens: long factors)
variants = json.load(open(os.path.join(here, "../config_variants/reference.json")))["cases"]
LONGROPE = next(v["overrides"] for v in variants if v["family"] == "phi3" and v["overrides"].get("original_max_position_embeddings") == 16)
FAMILIES["phi3-longrope"] = (MODEL_ARCH.PHI3, os.path.join(shared, "fixtures/tiny/phi3"))

for family, (arch, source) in FAMILIES.items():
    c = json.load(open(os.path.join(source, "config.json")))
    if family == "phi3-longrope":
        c.update(LONGROPE)
    w = GGUFWriter(os.path.join(here, f"tiny-{family}.gguf"), arch=family.split("-")[0])
    w.add_context_length(c["max_position_embeddings"])
    w.add_embedding_length(c["hidden_size"])
    w.add_block_count(c["num_hidden_layers"])
    w.add_feed_forward_length(c["intermediate_size"])
    w.add_head_count(c["num_attention_heads"])
    w.add_head_count_kv(c["num_key_value_heads"])
    w.add_layer_norm_rms_eps(c["rms_norm_eps"])
    head_dim = c.get("head_dim") or c["hidden_size"] // c["num_attention_heads"]
    w.add_key_length(head_dim)
    w.add_value_length(head_dim)
    w.add_vocab_size(c["vocab_size"])
    rope = c.get("rope_parameters", {})
    if family == "gemma3":  # the full layers' RoPE; llama.cpp's local base is 10,000
        w.add_rope_freq_base(rope["full_attention"]["rope_theta"])
        w.add_rope_scaling_type(__import__("gguf").RopeScalingType.LINEAR)
        w.add_rope_scaling_factor(rope["full_attention"]["factor"])
    else:
        w.add_rope_freq_base(rope.get("rope_theta", 10000.0))
    if family in ("gemma2", "gemma3"):
        w.add_sliding_window(c["sliding_window"])
    if family == "gemma3":  # llama.cpp reads the per-layer form (its default is five sliding layers of six)
        w.add_key_value("gemma3.attention.sliding_window_pattern", [t == "sliding_attention" for t in c["layer_types"]],
                        GGUFValueType.ARRAY, sub_type=GGUFValueType.BOOL)
        w.add_key_value("gemma3.rope.freq_base_swa", rope["sliding_attention"]["rope_theta"], GGUFValueType.FLOAT32)
    if family == "gemma2":
        w.add_attn_logit_softcapping(c["attn_logit_softcapping"])
        w.add_final_logit_softcapping(c["final_logit_softcapping"])
    if family.startswith("phi3"):
        w.add_rope_dimension_count(int(head_dim * rope.get("partial_rotary_factor", 1.0)))
        w.add_sliding_window(c.get("sliding_window") or 0)
    if family == "phi3-longrope":
        import math
        original, scale = rope["original_max_position_embeddings"], c["max_position_embeddings"] / rope["original_max_position_embeddings"]
        w.add_rope_scaling_type(__import__("gguf").RopeScalingType.LONGROPE)
        w.add_rope_scaling_orig_ctx_len(original)
        w.add_rope_scaling_attn_factors(math.sqrt(1 + math.log(scale) / math.log(original)) if scale > 1.0 else 1.0)
        w.add_tensor("rope_factors_long.weight", np.array(rope["long_factor"], dtype=np.float32))
        w.add_tensor("rope_factors_short.weight", np.array(rope["short_factor"], dtype=np.float32))
    copy_fields(tokenizer, w, lambda k: k.startswith("tokenizer."))
    names = get_tensor_name_map(arch, c["num_hidden_layers"])
    for name, data in load_file(os.path.join(source, "model.safetensors")).items():
        if family.startswith("gemma") and name.endswith("norm.weight"):
            data = data + 1
        w.add_tensor(names.get_name(name, try_suffixes=(".weight", ".bias")), data.astype(np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    print(family, "written")
