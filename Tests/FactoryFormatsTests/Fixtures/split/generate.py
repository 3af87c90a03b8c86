"""Golden encodings for the Llama 3 and Qwen2 Split pre-tokenizers: the SmolLM2 vocabulary
(../../../../../shared/fixtures/smollm2/tokenizer/tokenizer.json) with its pre-tokenizer swapped for
Sequence[Split(regex, Isolated), ByteLevel(use_regex=False)], encoded by Hugging Face tokenizers
on every text of smollm2/tokenizer_cases.jsonl plus a few digit/newline cases.
Run from this folder: python3 generate.py"""
import json
import os

from tokenizers import Tokenizer

SHARED = os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../../../../shared/fixtures/smollm2")
PATTERNS = {
    "llama3": r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+",
    "qwen2": r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+",
}
EXTRA = ["1234567 and 89", "x\n\n  y", "A\r\n B", "It'S DON'T we'LL", "(hello) [world]!!\n\n", "\t\tindented\n  \n", "²³ 10⁵"]

texts = [json.loads(l)["text"] for l in open(os.path.join(SHARED, "tokenizer_cases.jsonl"), encoding="utf-8")] + EXTRA
base = json.load(open(os.path.join(SHARED, "tokenizer/tokenizer.json"), encoding="utf-8"))
for name, regex in PATTERNS.items():
    spec = dict(base)
    spec["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": [
        {"type": "Split", "pattern": {"Regex": regex}, "behavior": "Isolated", "invert": False},
        {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False}]}
    tok = Tokenizer.from_str(json.dumps(spec))
    with open(f"{name}.pre_tokenizer.json", "w", encoding="utf-8") as f:
        json.dump(spec["pre_tokenizer"], f, ensure_ascii=False, indent=1)
    with open(f"{name}.cases.jsonl", "w", encoding="utf-8") as f:
        for t in texts:
            f.write(json.dumps({"text": t, "ids": tok.encode(t, add_special_tokens=False).ids}, ensure_ascii=False) + "\n")
