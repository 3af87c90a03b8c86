"""Greedy decoding of a GGUF by llama.cpp (llama-cpp-python), the loader that proves a `factory export --gguf` works.
Usage: python3 llamacpp_generate.py MODEL.gguf PROMPT N [LORA.gguf]
  PROMPT is raw text with its special tokens written out (no chat template is applied, no BOS added);
  LORA.gguf, when given, is a LoRA adapter GGUF llama.cpp applies to the model (its --lora, scale 1).
Prints one JSON line: the prompt's token ids, the N generated ids (fewer at EOS) and their text."""
import json, sys
from llama_cpp import Llama
path, prompt, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
lora = sys.argv[4] if len(sys.argv) > 4 else None
llm = Llama(model_path=path, n_ctx=512, n_threads=2, verbose=False, logits_all=False, lora_path=lora)
ids = llm.tokenize(prompt.encode(), add_bos=False, special=True)
out = []
for t in llm.generate(ids, temp=0.0, top_k=1, repeat_penalty=1.0):
    if t == llm.token_eos() or len(out) >= n: break
    out.append(t)
print(json.dumps({"prompt": ids, "ids": out, "text": llm.detokenize(out).decode(errors="replace")}))
