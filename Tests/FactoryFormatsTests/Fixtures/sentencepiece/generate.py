"""Builds the SentencePiece-style BPE fixtures (Llama 2 layout: byte-fallback tokens <0x00>..<0xFF>,
"▁" for spaces) with Hugging Face `tokenizers`, and writes the golden encodings.
Run from this folder:  python3 generate.py   (tokenizers 0.2x; output is deterministic)."""
import json

from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

CORPUS = [
    "The quick brown fox jumps over the lazy dog.",
    "Factory fine-tunes language models with LoRA on the CPU.",
    "Hello world! Hello there, general Kenobi.",
    "Numbers like 1234 and 56.78 appear in text too.",
    "A tokenizer turns text into ids, and ids back into text.",
] * 20

CASES = ["Hello world", "The lazy fox", " leading space", "trailing space ", "double  space", "new\nline\ttab",
         "héllo wörld", "日本語のテキスト", "emoji 🙂 and 👩‍💻", "unseen Ω symbol", "<s> literal special", "1234567890",
         "", " ", "a", "Factory fine-tunes LoRA"]


def build(layout):
    trainer = trainers.BpeTrainer(vocab_size=400, min_frequency=2, special_tokens=["<unk>", "<s>", "</s>"], show_progress=False)
    base = Tokenizer(models.BPE(unk_token="<unk>"))
    if layout == "llama2":
        base.normalizer = normalizers.Sequence([normalizers.Prepend("▁"), normalizers.Replace(" ", "▁")])
    else:
        base.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="first", split=True)
    base.train_from_iterator(CORPUS, trainer)
    trained = json.loads(base.to_str())
    vocab = {"<unk>": 0, "<s>": 1, "</s>": 2}
    for b in range(256):
        vocab["<0x%02X>" % b] = len(vocab)
    for token, _ in sorted(trained["model"]["vocab"].items(), key=lambda kv: kv[1]):
        if token not in vocab:
            vocab[token] = len(vocab)
    merges = [tuple(m) if isinstance(m, list) else tuple(m.split(" ")) for m in trained["model"]["merges"]]
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges, unk_token="<unk>", byte_fallback=True, fuse_unk=True))
    if layout == "llama2":
        tok.normalizer = normalizers.Sequence([normalizers.Prepend("▁"), normalizers.Replace(" ", "▁")])
        tok.decoder = decoders.Sequence([decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse(), decoders.Strip(" ", 1, 0)])
    else:
        tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="first", split=True)
        tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="first", split=True)
    from tokenizers import AddedToken
    tok.add_special_tokens([AddedToken("<unk>", special=True), AddedToken("<s>", special=True), AddedToken("</s>", special=True)])
    return tok


for layout in ["llama2", "metaspace"]:
    tok = build(layout)
    tok.save(f"{layout}.tokenizer.json")
    with open(f"{layout}.cases.jsonl", "w") as f:
        for text in CASES:
            enc = tok.encode(text, add_special_tokens=False)
            f.write(json.dumps({"text": text, "ids": enc.ids, "tokens": enc.tokens, "decoded": tok.decode(enc.ids, skip_special_tokens=False)},
                               ensure_ascii=False) + "\n")


# A tokenizer-only GGUF with tokenizer.ggml.model "llama" (SentencePiece: tokens, scores, types,
# no merges), built from the llama2 vocabulary, and what transformers makes of it (it rebuilds the
# merges from the scores and uses Metaspace with prepend_scheme "first").
def write_gguf():
    import gguf
    from transformers import AutoTokenizer
    t = json.load(open("llama2.tokenizer.json"))
    vocab = t["model"]["vocab"]
    tokens = [None] * len(vocab)
    for k, v in vocab.items():
        tokens[v] = k
    rank = {}
    for i, m in enumerate(t["model"]["merges"]):
        a, b = m if isinstance(m, list) else m.split(" ")
        rank[a + b] = i
    scores = [-float(rank.get(tok, 1000000 + i)) if i >= 259 else 0.0 for i, tok in enumerate(tokens)]
    types = [3, 3, 3] + [6] * 256 + [1] * (len(tokens) - 259)
    w = gguf.GGUFWriter("spm.gguf", "llama")
    w.add_tokenizer_model("llama")
    w.add_token_list(tokens)
    w.add_token_scores(scores)
    w.add_token_types(types)
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)
    w.add_unk_token_id(0)
    w.add_block_count(1)
    w.add_context_length(64)
    w.add_embedding_length(8)
    w.add_feed_forward_length(8)
    w.add_head_count(1)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    tok = AutoTokenizer.from_pretrained(".", gguf_file="spm.gguf")
    with open("spm.gguf.cases.jsonl", "w") as f:
        for text in CASES:
            ids = tok.encode(text, add_special_tokens=False)
            f.write(json.dumps({"text": text, "ids": ids, "tokens": tok.convert_ids_to_tokens(ids),
                                "decoded": tok.decode(ids, skip_special_tokens=False)}, ensure_ascii=False) + "\n")


write_gguf()
