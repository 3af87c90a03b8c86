"""A tiny Gemma 3 text model made as SHARED/fixtures/tiny made the other families (README §5): the shared tiny
tokenizer, hidden 64, 4 heads, 2 KV heads, head_dim 16, intermediate 128, vocab 512; every >=2-D parameter
~ N(0, 0.125^2), every 1-D parameter = default init + N(0, 0.1^2), fixed seed. Deliberately non-default so
that each feature bites on the 24-token inputs: layer_types [sliding, full] with sliding_window 4, the full
layer's RoPE base 1e6 with linear scaling (factor 2), the sliding layer's base 10,000,
query_pre_attn_scalar 32, tied embeddings. Writes config.json, model.safetensors, tokenizer.json and, for
the two shared inputs, seqN.logits.f32.bin and reference.json (ids, loss; fp32 vs fp64 differences).
Run: python3 generate.py SHARED_DIR"""
import hashlib, json, os, shutil, sys

import torch
from transformers import Gemma3ForCausalLM, Gemma3TextConfig

shared = sys.argv[1]
here = os.path.dirname(os.path.abspath(__file__))
torch.manual_seed(1234)
config = Gemma3TextConfig(
    vocab_size=512, hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
    num_key_value_heads=2, head_dim=16, max_position_embeddings=256, query_pre_attn_scalar=32,
    sliding_window=4, layer_types=["sliding_attention", "full_attention"],
    rope_parameters={"sliding_attention": {"rope_type": "default", "rope_theta": 10000.0},
                     "full_attention": {"rope_type": "linear", "factor": 2.0, "rope_theta": 1000000.0}},
    pad_token_id=0, bos_token_id=1, eos_token_id=2, tie_word_embeddings=True, attn_implementation="eager")
model = Gemma3ForCausalLM(config).eval()
with torch.no_grad():
    for name, p in model.named_parameters():
        if p.dim() >= 2:
            p.normal_(0, 0.125)
        else:
            p.add_(torch.randn_like(p) * 0.1)
model.save_pretrained(here, safe_serialization=True)
shutil.copy(os.path.join(shared, "fixtures/tiny/tokenizer/tokenizer.json"), os.path.join(here, "tokenizer.json"))
inputs = json.load(open(os.path.join(shared, "fixtures/tiny/index.json")))["inputs"]
double = Gemma3ForCausalLM.from_pretrained(here, dtype=torch.float64, attn_implementation="eager").eval()
cases = []
for seq, item in enumerate(inputs):
    ids = torch.tensor([item["ids"]])
    with torch.no_grad():
        out = model(input_ids=ids, labels=ids)
        ref = double(input_ids=ids, labels=ids)
    logits = out.logits[0].float().contiguous().numpy()
    name = f"seq{seq}.logits.f32.bin"
    logits.tofile(os.path.join(here, name))
    cases.append({"seq": seq, "ids": item["ids"], "n_tokens": len(item["ids"]),
                  "logits": {"file": name, "dtype": "float32-le", "shape": list(logits.shape)},
                  "logits_sha256": hashlib.sha256(logits.tobytes()).hexdigest(), "loss": out.loss.item(),
                  "max_abs_diff_logits_fp32_vs_fp64": (out.logits.double() - ref.logits).abs().max().item(),
                  "abs_diff_loss_fp32_vs_fp64": abs(out.loss.item() - ref.loss.item())})
json.dump({"architectures": ["Gemma3ForCausalLM"], "cases": cases}, open(os.path.join(here, "reference.json"), "w"), indent=1)
print([(c["loss"], c["max_abs_diff_logits_fp32_vs_fp64"]) for c in cases])
