"""Loads a `factory export` directory with transformers and compares its logits with Factory's.
Usage: python3 check_hf_export.py EXPORT_DIR LOGITS.bin IDS [TOLERANCE [FLOAT32_EXPORT_DIR]]
  LOGITS.bin: `factory score --ids IDS --dump-logits` of the model with its adapter (raw float32 [tokens, vocab]).
  FLOAT32_EXPORT_DIR: a float32 export of the same model; every tensor of EXPORT_DIR must then equal its
  tensor rounded by torch to EXPORT_DIR's dtype (round to nearest even), bit for bit.
Prints one JSON line: the max abs difference, the dtype transformers loaded, whether the tokenizer has a chat
template, the template rendered for a two-message conversation, and the bit check. Exit 1 when the difference
is over TOLERANCE or a tensor differs."""
import json, sys

import numpy as np
import torch
from safetensors.torch import load_file
from transformers import AutoModelForCausalLM, AutoTokenizer

directory, logits_file, ids = sys.argv[1], sys.argv[2], [int(i) for i in sys.argv[3].split(",")]
tolerance = float(sys.argv[4]) if len(sys.argv) > 4 else 1e-4
model = AutoModelForCausalLM.from_pretrained(directory, dtype="auto").eval()
with torch.no_grad():
    ours = model(torch.tensor([ids])).logits[0].float().numpy()
theirs = np.fromfile(logits_file, dtype="<f4").reshape(ours.shape)
difference = float(np.abs(ours - theirs).max())
tokenizer = AutoTokenizer.from_pretrained(directory)
conversation = [{"role": "user", "content": "Who are you?"}, {"role": "assistant", "content": "A model."}]
rendered = tokenizer.apply_chat_template(conversation, tokenize=False) if tokenizer.chat_template else None
bits_equal = None
if len(sys.argv) > 5:
    ours_tensors, reference = load_file(directory + "/model.safetensors"), load_file(sys.argv[5] + "/model.safetensors")
    bits_equal = ours_tensors.keys() == reference.keys() and all(
        torch.equal(ours_tensors[k].view(torch.int16), reference[k].to(ours_tensors[k].dtype).view(torch.int16)) for k in reference)
print(json.dumps({"max_abs_difference": difference, "bits_equal": bits_equal, "dtype": str(next(model.parameters()).dtype),
                  "chat_template": tokenizer.chat_template is not None, "rendered": rendered,
                  "tied": model.get_output_embeddings().weight.data_ptr() == model.get_input_embeddings().weight.data_ptr()}))
sys.exit(0 if difference <= tolerance and bits_equal is not False else 1)
